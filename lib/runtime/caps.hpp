// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::caps {

// A set of capabilities: bit N is capability N (CAP_CHOWN = 0), as in /proc/self/status.
using Set = uint64_t;

// The number of "CAP_CHOWN", "chown" or "Chown" (any case, CAP_ prefix optional); nothing if
// the name is unknown.
std::optional<int> from_name(std::string_view name);
// "CAP_CHOWN" for 0; "CAP_<n>" for a number without a name.
std::string name(int cap);
// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap, else 40).
int last_cap();
// Every capability the running kernel knows.
Set all();
// The capabilities this process's bounding set still holds: all a container can be given
// (--privileged: a koker run in a confined host keeps within it, as runc cannot go beyond).
Set held_bounding();
// podman's default: Docker's 14 less MKNOD, NET_RAW and AUDIT_WRITE (0x800405fb).
Set default_set();
// Applies --cap-add/--cap-drop as moby's TweakCapabilities: ALL in add = all less drop; else ALL
// in drop = add; else base less drop plus add. Throws Error("unknown capability: X").
Set adjust(Set base, const std::vector<std::string> &add, const std::vector<std::string> &drop);
// Drops every capability outside keep from the bounding set, clears the ambient set; needs
// CAP_SETPCAP, so call it before changing uid. Throws on failure.
void limit_bounding(Set keep);
// capset(2): permitted = effective = set, inheritable = 0 (CVE-2022-24769). Call it after the
// uid change, with 0 for a non-root user. Throws on failure.
void set_process_caps(Set set);
// capset(2) of the three sets, as an OCI config gives them (koker's own containers use
// set_process_caps). Throws on failure.
void set_sets(Set effective, Set permitted, Set inheritable);
// Raises each capability of set in the ambient set (it must be permitted and inheritable).
void raise_ambient(Set set);
// 16 lower-case hex digits, as /proc/self/status shows a set: "00000000800405fb".
std::string hex(Set set);
// "CHOWN DAC_OVERRIDE ..." for logs; "none" for the empty set.
std::string names(Set set);

} // namespace koker::caps
