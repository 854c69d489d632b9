// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

// Where a user who is not root keeps koker's files (docs/rootless.md). A rootless tool runs
// inside a user namespace where it is uid 0 (runtime/userns.hpp), so "rootless" is not
// geteuid() != 0: it is "not root of the host's own user namespace".
namespace koker::rootless {

// True for a user who is not root on the host, inside koker's user namespace or not yet.
bool active();
// The user's uid on the host (the id the namespace maps to 0): geteuid() outside it.
uid_t host_uid();
// The store's default: $XDG_DATA_HOME/koker, else $HOME/.local/share/koker.
std::string data_dir();
// Live state (locks, leases; koker-oci's containers with name "koker-oci"): /run/NAME for
// root; for a user $XDG_RUNTIME_DIR/NAME, else /tmp/NAME-UID, as runc keeps its state in
// $XDG_RUNTIME_DIR/runc under rootless podman. Made 0700 when missing; Error when it exists
// with another owner or lets others in (someone else made /tmp/NAME-UID first).
std::string runtime_dir(const std::string &name = "koker");
// The lines of an id map (/proc/PID/uid_map, gid_map: "INSIDE OUTSIDE COUNT"); nothing when
// the file is missing (a kernel without user namespaces). Parsed with text::fields, not a
// stream: a stream costs each tool's start the set-up of the C++ locale.
struct IdRange {
  uint64_t inside = 0, outside = 0, count = 0;
};
std::vector<IdRange> read_id_map(const std::string &path);
// Why a rootless container has no cgroup, for the verbs that need one (pause, unpause,
// update, stats): on this kind of host (cgroup v1, or v2 with no subtree delegated to the
// user) koker makes none (runtime/launch.cpp).
constexpr const char *NO_CGROUP =
    "a rootless container has no cgroup here (no delegated cgroup v2 subtree)";

} // namespace koker::rootless
