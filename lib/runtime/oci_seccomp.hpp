// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_spec.hpp"
#include "runtime/seccomp.hpp"

// linux.seccomp of a config.json as a BPF program, built with libseccomp the way runc builds it.
namespace koker::oci {

// Builds profile into a program for seccomp::load; loads nothing (the container loads it last,
// right before execve). As in runc: ERRNO and TRACE return EPERM unless errnoRet says otherwise,
// a rule whose action is the default action is left out, names libseccomp does not know are
// skipped, and conditions on one argument repeated in a rule become one rule each (any of them
// matches). On an x86_64 host whose default action is not ALLOW or LOG, syscall numbers past
// the highest the profile names answer ENOSYS (runc's patchbpf), so that libc falls back
// from syscalls newer than the profile. Throws Error for an unknown architecture or flag,
// SCMP_ACT_NOTIFY (koker-oci has no listener) and whatever libseccomp refuses, naming it.
seccomp::Filter build_filter(const Seccomp &profile);

// The seccomp(2) flags linux.seccomp.flags asks for, to pass when loading the program:
// SECCOMP_FILTER_FLAG_LOG and _SPEC_ALLOW. SECCOMP_FILTER_FLAG_TSYNC is dropped, as runc does
// (the container's init has one thread). Throws Error for any other flag.
unsigned filter_flags(const Seccomp &profile);

} // namespace koker::oci
