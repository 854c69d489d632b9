// SPDX-License-Identifier: MIT
// Where an OCI container's group goes: the runtime-spec's cgroupsPath (the Linux chapter, "Cgroups
// path"), in cgroupfs form or in systemd's "slice:prefix:name", resolved as runc 1.1.5 does
// (libcontainer/specconv CreateCgroupConfig, cgroups/fs paths.go, cgroups/systemd).
#include "base/error.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <map>

namespace koker::cgroup {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The components of path, "." and empty ones dropped. ".." is refused rather than cleaned
// away as runc's CleanPath does: a path that climbs is a mistake or an attempt to leave the
// hierarchy, and either way the caller should hear of it (docs/cli.md "koker-oci's control
// groups" rule 5).
std::string checked_components(std::string_view path, std::string_view given) {
  std::string out;
  for (const auto &part : text::fields(path, '/')) {
    if (part.empty() || part == ".")
      continue;
    if (part == "..")
      fail("invalid cgroupsPath '", printable(given, 200), "': '..' is not allowed");
    if (!text::all(part, [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }))
      fail("invalid cgroupsPath '", printable(given, 200), "': a control character in '",
           printable(part, 60), "'");
    if (part.size() > 255)
      fail("invalid cgroupsPath '", printable(given, 200), "': a part longer than 255 bytes");
    out += cat(out.empty() ? "" : "/", part);
  }
  if (out.empty())
    fail("invalid cgroupsPath '", printable(given, 200),
         "': it names the root of the hierarchy, which no container may have as its own");
  return out;
}

} // namespace

std::string DeviceRule::line() const {
  auto num = [](const std::optional<int64_t> &n) { return n ? std::to_string(*n) : "*"; };
  return cat(type, ' ', num(major), ':', num(minor), ' ', access);
}

Place parse_path(std::string_view cgroups_path, std::string_view id) {
  // runc: no cgroupsPath is a group named after the container, relative, so under the
  // caller's own group (specconv: c.Name = id; fs: innerPath, subsysPath).
  if (cgroups_path.empty())
    return {Base::own, checked_components(id, id)};
  Base base = cgroups_path[0] == '/' ? Base::root : Base::own;
  return {base, checked_components(cgroups_path, cgroups_path)};
}

std::string expand_slice(std::string_view slice) {
  const std::string_view suffix = ".slice";
  auto bad = [&] { fail("invalid slice name: ", printable(slice, 200)); };
  if (slice.size() < suffix.size() || !ends_with(slice, suffix) ||
      slice.find('/') != std::string_view::npos)
    bad();
  std::string_view name = slice.substr(0, slice.size() - suffix.size());
  if (name == "-")
    return ""; // the root slice
  std::string path, prefix;
  for (const auto &part : text::split(name, '-')) {
    if (part.empty())
      bad(); // "a--b.slice", "-a.slice", ".slice"
    path += cat(path.empty() ? "" : "/", prefix, part, suffix);
    prefix += part + "-";
  }
  return path;
}

Place parse_systemd_path(std::string_view cgroups_path, std::string_view id) {
  // runc (specconv, cgroups/systemd): "" is the unit runc-ID.scope in system.slice; koker
  // names its own default unit koker-ID.scope.
  std::string slice = "system.slice", prefix = "koker", name(id);
  if (!cgroups_path.empty()) {
    auto parts = text::split(cgroups_path, ':');
    if (parts.size() != 3)
      fail("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"",
           printable(cgroups_path, 200), "\" instead");
    if (!parts[0].empty())
      slice = parts[0];
    prefix = parts[1];
    name = parts[2];
  }
  std::string unit = ends_with(name, ".slice") ? name : cat(prefix, "-", name, ".scope");
  if (unit.find('/') != std::string::npos)
    fail("invalid cgroupsPath '", printable(cgroups_path, 200), "': the unit name '",
         printable(unit, 60), "' has a '/'");
  std::string expanded = expand_slice(slice);
  return {Base::init, checked_components(cat(expanded, "/", unit), cgroups_path)};
}

namespace detail {

const std::vector<Membership> &memberships(const std::string &file) {
  static std::map<std::string, std::vector<Membership>> read;
  if (auto it = read.find(file); it != read.end())
    return it->second;
  std::vector<Membership> lines;
  for (const auto &line : text::fields(sys::read_file(file, 64 * 1024), '\n')) {
    // The path may hold ':' itself: only the first two separate.
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    lines.push_back({line.substr(0, first),
                     text::fields(line.substr(first + 1, second - first - 1), ','),
                     line.substr(second + 1)});
  }
  return read[file] = std::move(lines);
}

std::string base_dir(const Hierarchy &h, Base base, bool fake) {
  if (base == Base::root || fake)
    return h.mount;
  const char *file = base == Base::own ? "/proc/self/cgroup" : "/proc/1/cgroup";
  std::optional<std::string> path;
  for (const auto &m : memberships(file)) {
    bool match = h.unified ? m.id == "0" && m.controllers.empty()
                           : std::any_of(m.controllers.begin(), m.controllers.end(),
                                         [&](const std::string &n) { return holds(h, n); });
    if (match) {
      path = m.path;
      break;
    }
  }
  if (!path)
    fail("unable to find the cgroup of ", base == Base::own ? "this process" : "pid 1", " in ",
         h.mount, " (", file, ")");
  // systemd 226 and later keeps pid 1 in init.scope; its slices sit beside it (runc's
  // getSubsystemPath).
  if (base == Base::init && ends_with(*path, "/init.scope"))
    path->resize(path->size() - std::string_view("/init.scope").size());
  // The mount may show a subtree only (mountinfo's root, in another cgroup namespace).
  std::string rel = *path;
  if (h.root != "/") {
    if (rel != h.root && !text::starts_with(rel, h.root + "/"))
      fail("unable to find the cgroup ", rel, " of ", base == Base::own ? "this process" : "pid 1",
           " under ", h.mount, ", which shows ", h.root, " only");
    rel = rel.substr(h.root.size());
  }
  while (!rel.empty() && rel.back() == '/')
    rel.pop_back();
  return h.mount + rel;
}

} // namespace detail

} // namespace koker::cgroup
