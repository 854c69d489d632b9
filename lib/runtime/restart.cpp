// SPDX-License-Identifier: MIT
#include "runtime/restart.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <poll.h>

namespace koker::restart {

using namespace std::chrono;

Policy parse(std::string_view text) {
  Policy p;
  size_t colon = text.find(':');
  p.name = std::string(text.substr(0, colon));
  if (p.name != "no" && p.name != "on-failure" && p.name != "always" &&
      p.name != "unless-stopped")
    fail("invalid restart policy ", printable(text),
         " (no, on-failure[:N], always or unless-stopped)");
  if (colon != std::string_view::npos) {
    // docker: only on-failure takes a count.
    auto n = sys::parse_uint(text.substr(colon + 1));
    if (p.name != "on-failure")
      fail("invalid restart policy ", printable(text), ": only on-failure takes a retry count");
    if (!n || *n > 1000000)
      fail("invalid restart policy ", printable(text), ": the retry count is a number");
    p.max = static_cast<int>(*n);
  }
  return p;
}

milliseconds Backoff::next(steady_clock::duration up) {
  // dockerd's restartmanager: 100 ms, doubling, at most a minute; back to 100 ms after a run
  // of 10 s or more.
  if (up >= seconds(10))
    m_delay = milliseconds(0);
  m_delay = m_delay.count() == 0 ? milliseconds(100) : std::min(m_delay * 2, milliseconds(60000));
  return m_delay;
}

bool decide(container::Record &r, int code) {
  bool again = false;
  if (r.manually_stopped || r.auto_remove)
    return false;
  if (r.restart_policy == "always" || r.restart_policy == "unless-stopped")
    again = true;
  else if (r.restart_policy == "on-failure") // docker: N restarts, N+1 runs
    again = code != 0 && (r.restart_max == 0 || r.restart_count < r.restart_max);
  if (!again)
    return false;
  ++r.restart_count;
  r.status = "restarting";
  log::debug("container ", r.id.substr(0, 12), " exited with ", code, ": restart policy ",
             r.restart_policy, ", restart ", r.restart_count);
  return true;
}

bool wait_out(const std::string &root, const std::string &id, milliseconds delay) {
  auto end = steady_clock::now() + delay;
  for (;;) {
    bool stopped = true;
    // Looked at in slices: koker-stop marks the record, it sends nothing to this process.
    if (auto rec = container::load(root, id))
      stopped = rec->manually_stopped;
    if (stopped) {
      log::debug("container ", id.substr(0, 12), " stopped while it waited to restart");
      container::update(root, id, [](container::Record &r) {
        if (r.status == "restarting")
          r.status = "exited";
      });
      return false;
    }
    auto left = duration_cast<milliseconds>(end - steady_clock::now());
    if (left.count() <= 0)
      return true;
    ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left.count(), 50)));
  }
}

bool restartable(const container::Record &rec) {
  return rec.restart_policy == "always" || rec.restart_policy == "unless-stopped" ||
         rec.restart_policy == "on-failure";
}

} // namespace koker::restart
