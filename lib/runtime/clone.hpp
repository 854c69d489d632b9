// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include <string>
#include <sys/types.h>

// Where a container's first process (and every koker-exec command) comes from: one clone
// that makes its new namespaces and, on a unified tree, starts it inside its cgroup.
namespace koker::clone {

// fork(2) with the namespaces in flags (CLONE_NEW*), the child starting in the seed's unified
// group when there is one: clone3(CLONE_INTO_CGROUP, Linux 5.7). Returns the pid (0 in the
// child, which runs on a copy of the caller's stack, as after fork(2)), or -1 with errno.
// *placed says whether the child started in its unified group; if not (an older kernel, a
// seccomp filter), the caller adds it with cgroup::Group::add_unified.
pid_t into_cgroup(const cgroup::Seed &seed, unsigned long flags, bool *placed);

// The CLONE_NEW* flags of pid's namespaces that are not this process's own: what a process
// entering a running container (koker-exec, koker-oci exec) joins. Throws when pid's cannot be
// read.
int namespaces_to_join(pid_t pid);

// "NEWNS|NEWPID|..." for the trace.
std::string flags_string(unsigned long flags);

} // namespace koker::clone
