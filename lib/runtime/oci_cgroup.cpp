// SPDX-License-Identifier: MIT
#include "runtime/oci_cgroup.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <unistd.h>

namespace koker::oci {

namespace {

// runc 1.1.5's default device rules (libcontainer/specconv AllowedDevices), in its order, with
// the node each is for: a rule whose node linux.devices defines again is left out, as runc
// leaves it out (the spec's own rules then decide for that node).
struct DefaultRule {
  const char *path;
  cgroup::DeviceRule rule;
};
const DefaultRule DEFAULT_RULES[] = {
    {"", {true, "c", std::nullopt, std::nullopt, "m"}}, // mknod of any node
    {"", {true, "b", std::nullopt, std::nullopt, "m"}},
    {"/dev/null", {true, "c", 1, 3, "rwm"}},
    {"/dev/random", {true, "c", 1, 8, "rwm"}},
    {"/dev/full", {true, "c", 1, 7, "rwm"}},
    {"/dev/tty", {true, "c", 5, 0, "rwm"}},
    {"/dev/zero", {true, "c", 1, 5, "rwm"}},
    {"/dev/urandom", {true, "c", 1, 9, "rwm"}},
    {"", {true, "c", 136, std::nullopt, "rwm"}}, // the pty slaves, /dev/console among them
    {"", {true, "c", 5, 2, "rwm"}},              // /dev/ptmx
    {"", {true, "c", 10, 200, "rwm"}},           // /dev/net/tun
};

std::string record_of(const std::string &root, const std::string &id) {
  return dir_of(root, id) + "/cgroup.json";
}

// Whether r sets anything but device rules (which create_resources always adds).
bool sets_limits(const cgroup::Resources &r) {
  return r.memory_limit || r.memory_reservation || r.memory_swap || r.memory_kernel ||
         r.memory_kernel_tcp || r.memory_swappiness || r.disable_oom_killer || r.cpu_shares ||
         r.cpu_period || r.cpu_rt_period || r.cpu_quota || r.cpu_rt_runtime ||
         !r.cpuset_cpus.empty() || !r.cpuset_mems.empty() || r.pids_limit || r.blkio_weight ||
         r.blkio_leaf_weight || !r.blkio_weight_device.empty() ||
         !r.blkio_throttle_read_bps.empty() || !r.blkio_throttle_write_bps.empty() ||
         !r.blkio_throttle_read_iops.empty() || !r.blkio_throttle_write_iops.empty() ||
         !r.hugepage_limits.empty() || r.net_cls_classid || !r.net_prio_ifpriomap.empty() ||
         !r.unified.empty();
}

// Whether this process may make dir: its nearest existing ancestor is writable (root of a
// user namespace is nobody to a directory of the host's root).
bool may_make(std::string dir) {
  while (dir.size() > 1 && !sys::exists(dir))
    dir.resize(dir.rfind('/') == 0 ? 1 : dir.rfind('/'));
  return ::access(dir.c_str(), W_OK) == 0;
}

} // namespace

std::optional<cgroup::Group> rootless_group(cgroup::Group group, const cgroup::Resources &asked,
                                            const std::string &config_path) {
  auto dirs = group.paths();
  if (std::all_of(dirs.begin(), dirs.end(), may_make))
    return group;
  if (sets_limits(asked))
    fail("rootless: unable to apply linux.resources of ", config_path,
         ": no cgroup may be made here (no delegated cgroup v2 subtree)");
  log::debug("rootless: no cgroup for this container (", dirs.empty() ? "?" : dirs[0],
             " may not be made)");
  return std::nullopt;
}

cgroup::Group resolve_group(const Spec &spec, const std::string &id, bool systemd,
                            const cgroup::Resources &r) {
  // There is no systemd (nor D-Bus) to ask for a scope unit here: with --systemd-cgroup the
  // group is made directly on cgroupfs, at the path systemd would give the unit (docs/cli.md
  // "koker-oci's control groups" rule 4).
  cgroup::Place place = systemd ? cgroup::parse_systemd_path(spec.cgroups_path, id)
                                : cgroup::parse_path(spec.cgroups_path, id);
  std::string name = spec.cgroups_path.empty() ? place.path : spec.cgroups_path;
  return cgroup::Group::resolve(name, place, r);
}

cgroup::Resources create_resources(const Spec &spec) {
  cgroup::Resources r = spec.resources;
  for (const auto &d : DEFAULT_RULES) {
    bool redefined = false;
    for (const auto &dev : spec.devices)
      redefined = redefined || (*d.path && dev.path == d.path);
    if (!redefined)
      r.devices.push_back(d.rule);
  }
  return r;
}

void record_group(const std::string &root, const std::string &id, const cgroup::Group &group) {
  json::Value v = json::Value::object();
  v.set("name", group.name());
  v.set("paths", json::string_array(group.paths()));
  v.set("made", json::string_array(group.made()));
  v.set("spare", json::string_array(group.spare()));
  sys::write_file_atomic(record_of(root, id), v.dump(1) + "\n", 0600, false);
}

std::optional<cgroup::Group> open_group(const std::string &root, const std::string &id,
                                        const std::string &legacy_name) {
  std::string path = record_of(root, id);
  auto text = sys::read_file_if_exists(path, 1 << 20);
  if (!text) {
    // Made before cgroupsPath was honoured: koker/oci-ID. Nothing else under koker/ is
    // koker-oci's (koker-run's groups are koker/ID).
    if (text::starts_with(legacy_name, "oci-") && cgroup::valid_name(legacy_name))
      return cgroup::Group::open(legacy_name);
    return std::nullopt;
  }
  json::Value doc = json::parse(*text, path);
  json::Fields f(&doc, path);
  return cgroup::Group::open_dirs(f.string("name"), f.strings("paths"), f.strings("made"),
                                  f.strings("spare"));
}

void update(const std::string &root, const std::string &id, cgroup::Resources r) {
  auto st = load(root, id);
  if (!st)
    fail("container does not exist");
  if (status(root, *st) == "stopped")
    fail("container not running");
  auto group = open_group(root, *st);
  if (!group)
    fail("unable to update container ", id, ": its cgroup is gone");
  // Rewriting the device rules would first deny every device to a running container.
  r.devices.clear();
  // A limit for a hierarchy the group left out (cpu, cpuset, blkio, ... without a value at
  // create) first joins it; the record follows, whatever happens.
  bool extended = false;
  try {
    extended = group->extend(r);
  } catch (...) {
    record_group(root, id, *group);
    throw;
  }
  if (extended)
    record_group(root, id, *group);
  group->apply(r);
}

} // namespace koker::oci
