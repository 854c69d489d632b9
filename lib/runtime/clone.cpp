// SPDX-License-Identifier: MIT
#include "runtime/clone.hpp"
#include "base/error.hpp"
#include "base/rootless.hpp"
#include "base/log.hpp"
#include <cerrno>
#include <csignal>
#include <cstring>
#include <linux/sched.h>
#include <sched.h>
#include <sys/stat.h>
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
      {CLONE_NEWIPC, "NEWIPC"}, {CLONE_NEWNET, "NEWNET"}, {CLONE_NEWCGROUP, "NEWCGROUP"},
      {CLONE_NEWUSER, "NEWUSER"}};
  for (auto &[bit, name] : names)
    if (f & bit)
      s += cat(s.empty() ? "" : "|", name);
  return s;
}

// The namespaces of pid that are not this process's own: the ones to join. A rootless
// container's user namespace is one of them: its owner joins it from the host's (setns with a
// pidfd enters it first), never from a sibling namespace, which would have no rights there.
// For root, the user namespace is never joined.
int namespaces_to_join(pid_t pid) {
  static const struct {
    const char *name;
    int flag;
  } kinds[] = {{"mnt", CLONE_NEWNS},   {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
               {"net", CLONE_NEWNET},  {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
               {"user", CLONE_NEWUSER}};
  int flags = 0;
  for (const auto &k : kinds) {
    // Root enters a bundle's own user namespace's other namespaces from the host's, as it
    // always did (koker-oci exec returns to the host's mount namespace after).
    if (k.flag == CLONE_NEWUSER && !rootless::active())
      continue;
    struct stat mine, theirs;
    if (::stat(cat("/proc/self/ns/", k.name).c_str(), &mine) < 0)
      continue; // a kernel without that namespace type
    if (::stat(cat("/proc/", pid, "/ns/", k.name).c_str(), &theirs) < 0)
      sys_fail("unable to read the ", k.name, " namespace of the container's init");
    if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
      flags |= k.flag;
  }
  return flags;
}

} // namespace koker::clone
