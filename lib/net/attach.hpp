// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include "store/container.hpp"
#include <string>
#include <sys/types.h>
#include <thread>
#include <utility>

namespace koker::net {

// koker-net (beside this tool) run as "koker-net attach ID - [-p PORT]...": the bridge (made
// if missing), the veth pair, the address and the port rules are koker-net's, so that
// koker-run links no netlink library and can be a static binary. The "-" makes koker-net read
// the container's PID from its stdin: koker-run starts it before the container exists, so
// that its exec and dynamic loading overlap koker-run's own set-up (the overlay mount, the
// cgroups, the clone) rather than wait in the container's start (bench/README.md).
// koker-net's messages reach the user as they are.
class Attacher {
public:
  Attacher() = default;
  // Starts koker-net for rec (its id and -p ports), which waits for the PID. The spawn runs
  // on a thread of its own: posix_spawn's vfork holds the calling thread until the child's
  // exec is done (0.5-1.3 ms here), and the main thread goes on meanwhile.
  explicit Attacher(const container::Record &rec);
  // Waits for that thread: before this process forks or clones (a clone3 copies no thread
  // and runs no fork handler, so a lock the thread held would stay held in the child), and
  // before any other use. Every member below calls it.
  void spawned();
  Attacher(Attacher &&o) noexcept { *this = std::move(o); }
  Attacher &operator=(Attacher &&o) noexcept;
  // Unfinished: koker-net reads the end of its input, does nothing and exits; reaped here,
  // as is a finished one whose exit finish did not wait for.
  ~Attacher();
  explicit operator bool() const { return m_started; }
  // Gives koker-net the PID, which it then works with while this process goes on.
  void give_pid(const container::Record &rec, pid_t pid);
  // Waits for koker-net (given the PID before): returns the container's address, its last
  // line, without waiting for its exit then (the destructor reaps it). When it fails, the
  // Error thrown carries its exit code and an empty message (it said why already).
  std::string finish(const container::Record &rec);
  std::string finish(const container::Record &rec, pid_t pid) {
    give_pid(rec, pid);
    return finish(rec);
  }

private:
  bool m_started = false;
  std::string m_exe;
  sys::Spawned m_proc;
  std::thread m_spawner;
  std::string m_spawn_error; // what the spawner caught, said by finish
};

// Attacher(rec).finish(rec, pid): for a start that did not begin one ahead (koker-start).
std::string attach_with_tool(const container::Record &rec, pid_t pid);

} // namespace koker::net
