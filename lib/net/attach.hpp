// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include "store/container.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <utility>

namespace koker::net {

// koker-net (beside this tool) plugs containers into their networks: the bridge (made if
// missing), the veth pair, the address and the port rules are koker-net's, so that koker-run
// links no netlink library and can be a static binary. koker-net's messages reach the user
// as they are.
//
// koker-run (as root) starts "koker-net attach --ahead" first thing, before it has even made
// the container's record, so that koker-net's exec and loading overlap koker-run's own work;
// plug() then gives it the record, and the network namespace made for the container ahead of
// it (net/namespace.hpp): koker-net reserves the addresses, makes the veth pair and the
// address and route inside at once, while koker-run still builds the container, and prints
// the record with the addresses, which koker-run saves as the record's first save
// (take_addresses); then the PID, which koker-net needs only for the [::1] proxies of
// published ports. The container's init joins the namespace (launch::Request::net_namespace)
// instead of making one at its clone (bench/README.md: the bridge's share of a start).
//
// A start of an existing container (koker-start, a restart) runs "koker-net attach ID -"
// once the container exists, and gives it the PID (attach_with_tool).
class Attacher {
public:
  Attacher() = default;
  struct Ahead {};
  // Starts koker-net attach --ahead. The spawn runs on a thread of its own: posix_spawn's
  // vfork holds the calling thread until the child's exec is done (0.5-1.3 ms here), and
  // the main thread goes on meanwhile.
  explicit Attacher(Ahead);
  // Starts koker-net attach ID - for rec (its id and -p ports), which waits for the PID.
  explicit Attacher(const container::Record &rec);
  // Waits for that thread: before this process forks or clones (a clone3 copies no thread
  // and runs no fork handler, so a lock the thread held would stay held in the child), and
  // before any other use. Every member below calls it.
  void spawned();
  Attacher(Attacher &&o) noexcept { *this = std::move(o); }
  Attacher &operator=(Attacher &&o) noexcept;
  // Unfinished: koker-net reads the end of its input, undoes what it made and exits; reaped
  // here, as is a finished one whose exit finish did not wait for.
  ~Attacher();
  explicit operator bool() const { return m_started; }
  bool ahead() const { return m_ahead; }
  // Ahead: gives koker-net rec, then the path of the container's network namespace netns
  // by this process's descriptor, which must stay open until take_addresses returns.
  void plug(const container::Record &rec, int netns);
  // Ahead: waits until koker-net has plugged the namespace, and copies what it recorded (the
  // addresses, the endpoints, the published ports) into rec, for the caller to save. When it
  // failed, the Error thrown carries its exit code and an empty message (it said why).
  void take_addresses(container::Record &rec);
  // Gives koker-net the PID: it works with it (or, ahead, starts the proxies) while this
  // process goes on.
  void give_pid(const container::Record &rec, pid_t pid);
  // Waits for koker-net (given the PID before): returns the container's address, its last
  // line, without waiting for its exit then (the destructor reaps it). Ahead, it waits for
  // its exit only when it starts proxies (published ports), and returns rec's address.
  // When it fails, the Error thrown carries its exit code and an empty message.
  std::string finish(const container::Record &rec);
  std::string finish(const container::Record &rec, pid_t pid) {
    give_pid(rec, pid);
    return finish(rec);
  }

private:
  void start(std::vector<std::string> words);
  [[noreturn]] void failed(const container::Record &rec, const std::string &out);
  [[noreturn]] static void failed_with(const container::Record &rec, int status);
  bool m_started = false;
  bool m_ahead = false;
  std::string m_exe;
  sys::Spawned m_proc;
  std::thread m_spawner;
  std::string m_spawn_error; // what the spawner caught, said by finish
};

// A container's record as koker-run and koker-net attach --ahead pass it through a pipe: its
// size on a line, then its JSON (read at once, where a line is read a byte at a time).
std::string record_frame(const container::Record &rec);
// Reads one from fd (what names it): nothing at the end of the input, or when cut short (the
// writer went away). Throws on a bad size or record.
std::optional<container::Record> read_record(int fd, std::string_view what);

// Attacher(rec).finish(rec, pid): for a start that did not begin one ahead (koker-start).
std::string attach_with_tool(const container::Record &rec, pid_t pid);

} // namespace koker::net
