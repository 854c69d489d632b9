// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/oci_state.hpp"
#include <optional>
#include <string>

// An OCI container's cgroup: where linux.cgroupsPath puts it (as runc 1.1.5 does, in cgroupfs or,
// with --systemd-cgroup, systemd's form), what linux.resources writes into it, and the record
// of its directories that every later command (kill --all, pause, ps, update, delete) reads
// back, since none of them repeats the config or --systemd-cgroup. docs/cli.md "koker-oci's
// control groups" tells the rules.
namespace koker::oci {

// Where the container's group goes: cgroup::parse_path or, with systemd,
// cgroup::parse_systemd_path, resolved on this host for r (create_resources). Nothing is
// made.
cgroup::Group resolve_group(const Spec &spec, const std::string &id, bool systemd,
                            const cgroup::Resources &r);

// Rootless (podman run by a user calls its runtime as uid 0 of the user's namespace): group
// when that user may make it, else none, as runc's rootless mode does on a host that
// delegates no cgroup (v1, or v2 without a delegated subtree); an Error naming config_path
// when linux.resources asks for limits, which would then silently not hold.
std::optional<cgroup::Group> rootless_group(cgroup::Group group, const cgroup::Resources &asked,
                                            const std::string &config_path);

// What create writes into the group: linux.resources, and on v1 the device rules runc sets:
// the spec's rules in their order, then runc's defaults (mknod of anything, /dev/null, zero,
// full, random, urandom, tty, ptmx, the pty slaves and /dev/net/tun), less those for a path
// linux.devices defines again.
cgroup::Resources create_resources(const Spec &spec);

// ROOT/ID/cgroup.json: the group's directories, the parents made for it, and where it would
// go in the hierarchies it left out (for an update). Written before any of them is made, so
// that delete --force of a container whose create died halfway still finds them.
void record_group(const std::string &root, const std::string &id, const cgroup::Group &group);
// The group of container id as recorded; a container made before the record existed is
// koker/<st.cgroup>. Nothing when none of it exists any more.
std::optional<cgroup::Group> open_group(const std::string &root, const std::string &id,
                                        const std::string &legacy_name = "");
inline std::optional<cgroup::Group> open_group(const std::string &root, const State &st) {
  return open_group(root, st.id, st.cgroup);
}

// koker-oci update: writes r into the running container's group, devices left as they are
// (runc's SkipDevices); a hierarchy the group left out is joined first (Group::extend).
// Error("container does not exist") for an unknown ID, "container not running" for a stopped one.
void update(const std::string &root, const std::string &id, cgroup::Resources r);

} // namespace koker::oci
