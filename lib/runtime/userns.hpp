// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>

// Rootless koker's user namespace (docs/rootless.md): the user is uid/gid 0 inside and the
// range /etc/subuid (/etc/subgid) gives it is 1..N, as rootless podman maps it; so an image's
// uid U (1 <= U <= N) is subuid_start + U - 1 on the disk. newuidmap and newgidmap (Debian's
// uidmap package, setuid root, not koker's) write the maps: koker has nothing setuid.
namespace koker::userns {

// One line of /etc/subuid or /etc/subgid: NAME_OR_ID:START:COUNT.
struct Range {
  uint32_t start = 0, count = 0;
};

// The first range of file (/etc/subuid or /etc/subgid) for the user name or its id; Error
// naming the line to add when there is none ("no range for USER in /etc/subuid: add a line
// such as USER:100000:65536").
Range find_range(const std::string &file, const std::string &user, uid_t id);

// For a tool that writes the store (pulls, runs, removes): when the user is not root and
// this process is not in a user namespace yet, puts it in a new user and mount namespace as
// uid 0, keeping its pid and descriptors (pipes such as `koker-pull x | koker-run - true` go
// on working). A helper forked first stays outside and runs newuidmap/newgidmap on this pid.
// Must be called while the process is single-threaded. Nothing for root.
void enter();

// Whether this process runs in a user namespace of its own (rootless, after enter()): what
// makes a container's root need userxattr overlays, bound device nodes and no cgroups.
bool inside();

// The highest gid this process's user namespace maps (65536 for the usual range).
uint32_t highest_mapped_gid();

} // namespace koker::userns
