// SPDX-License-Identifier: MIT
#include "runtime/clone.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <cerrno>
#include <csignal>
#include <cstring>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::clone {

pid_t into_cgroup(const cgroup::Seed &seed, unsigned long flags, bool *placed) {
  *placed = false;
  if (seed.unified && !seed.fake) {
    struct clone_args args {};
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(seed.unified.get());
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *placed = true;
      return static_cast<pid_t>(pid);
    }
    log::debug("clone3(CLONE_INTO_CGROUP): ", std::strerror(errno), "; clone(2) instead");
  }
  // The raw system call, not glibc's clone(): no new stack, the child goes on as after fork.
  return static_cast<pid_t>(
      ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

std::string flags_string(unsigned long f) {
  std::string s;
  const std::pair<unsigned long, const char *> names[] = {
      {CLONE_NEWNS, "NEWNS"},   {CLONE_NEWPID, "NEWPID"}, {CLONE_NEWUTS, "NEWUTS"},
      {CLONE_NEWIPC, "NEWIPC"}, {CLONE_NEWNET, "NEWNET"}, {CLONE_NEWCGROUP, "NEWCGROUP"}};
  for (auto &[bit, name] : names)
    if (f & bit)
      s += cat(s.empty() ? "" : "|", name);
  return s;
}

} // namespace koker::clone
