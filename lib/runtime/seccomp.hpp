// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/caps.hpp"
#include <cstdint>
#include <linux/filter.h>
#include <string>
#include <vector>

// Docker's default seccomp profile: ERRNO(EPERM) by default, syscall groups unlocked by
// capabilities, ENOSYS for clone3 and for syscalls newer than the table; x86_64, x86 (and x32).
namespace koker::seccomp {

// What a filter holds, for -D logs and tests.
struct Stats {
  int allowed = 0;     // syscall names allowed, with or without argument conditions
  int enosys = 0;      // x86_64 numbers answered with ENOSYS: clone3, those past max_nr
  int rules = 0;       // rules given to libseccomp
  uint32_t max_nr = 0; // highest x86_64 syscall number the table names
  std::string arches;  // "x86_64 x86", plus "x32" when the kernel runs x32 programs
  double build_ms = 0; // time to build the filter
  double load_ms = 0;  // time for seccomp(2) to load it
};

// A classic BPF program ready for seccomp(2).
struct Filter {
  std::vector<sock_filter> prog;
  Stats stats;
  // cached_default only: the same profile as an OCI config's linux.seccomp (default_profile).
  std::string profile;
};

// Builds Docker's default profile (moby default.json) for a container holding caps, with
// libseccomp; changes nothing in the process. Throws Error naming the rule that failed.
Filter build_default(caps::Set caps);
// Loads filter into the calling thread; needs CAP_SYS_ADMIN or no_new_privs. Throws on failure.
void load(const Filter &filter);
// build_default's result and default_profile's text, kept in cache_dir (the store's 0700
// cache/) under a key of koker's version, libseccomp's, the kernel's release and caps, so that
// a container's start does not pay libseccomp's ~5 ms again, nor the text's build: the same
// inputs give the same program and the same text.
Filter cached_default(caps::Set caps, const std::string &cache_dir);
// The same profile as an OCI config's linux.seccomp (libseccomp's names), as compact JSON
// text, for the config.json of koker-run's containers: what runc loads when given their bundle.
std::string default_profile(caps::Set caps);
// The statistics of the last filter loaded by this process.
Stats last_stats();

} // namespace koker::seccomp
