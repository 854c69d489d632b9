// SPDX-License-Identifier: MIT
#pragma once
#include "store/container.hpp"
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

// Restart policies with no daemon (docker's --restart): the process that waits for a
// container (the -d supervisor, or a foreground koker-run) decides when it ends whether to
// start it again, as dockerd's restart manager does: on-failure[:N] after a non-zero exit
// (at most N times), always and unless-stopped after any exit, never once the user stopped it
// (HasBeenManuallyStopped); 100 ms between tries, doubling, back to 100 ms after 10 s up.
namespace koker::restart {

struct Policy {
  std::string name = "no";
  int max = 0; // on-failure's N; 0: no limit
};

// "no", "on-failure", "on-failure:N", "always", "unless-stopped"; throws Error otherwise.
Policy parse(std::string_view text);

// The delay before the next try, kept by the waiting process across its container's runs.
class Backoff {
public:
  // The delay after a run that lasted up: doubled, or 100 ms again after 10 s up.
  std::chrono::milliseconds next(std::chrono::steady_clock::duration up);

private:
  std::chrono::milliseconds m_delay{0};
};

// Whether the container of record r (loaded under its lock by the caller, which saves it),
// which has just ended with code, is to start again. If so r says restarting, with
// RestartCount one more: no moment shows it exited in between (koker-wait, koker-ps).
bool decide(container::Record &r, int code);

// Sleeps delay unless the user stops (or removes) the container meanwhile: false then, and
// the record says exited again.
bool wait_out(const std::string &root, const std::string &id, std::chrono::milliseconds delay);

// True for a container whose policy could start it again: always, unless-stopped,
// on-failure. koker-start --all-restartable starts those the user did not stop.
bool restartable(const container::Record &rec);

} // namespace koker::restart
