// SPDX-License-Identifier: MIT
// Which cgroups the host has: v1, hybrid or v2, seen with statfs under /sys/fs/cgroup, read
// from /proc/self/mountinfo when that layout does not hold, or from the shape of a fake tree
// (KOKER_CGROUP_ROOT, for tests).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <linux/magic.h>
#include <set>
#include <sys/stat.h>
#include <sys/vfs.h>

namespace koker::cgroup {

using namespace detail;

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string unescape_mountinfo(std::string_view s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

// The names of list that names holds, in list's order.
template <size_t N>
std::vector<std::string> pick(const char *const (&list)[N], const std::vector<std::string> &names) {
  std::vector<std::string> out;
  for (const char *c : list)
    if (std::find(names.begin(), names.end(), c) != names.end())
      out.emplace_back(c);
  return out;
}

// A v1 hierarchy from its controller names; none when it holds no controller runc knows
// (name=systemd).
std::optional<Hierarchy> v1_hierarchy(std::string mount, const std::vector<std::string> &names,
                                      std::string root) {
  Hierarchy h{std::move(mount), pick(V1_CONTROLLERS, names), false, pick(V1_EXTRA, names),
              std::move(root)};
  if (h.controllers.empty() && h.extra.empty())
    return std::nullopt;
  return h;
}

Hierarchy v2_hierarchy(const std::string &mount, std::string root) {
  auto names = text::fields(read_value(mount + "/cgroup.controllers").value_or(""), ' ');
  return {mount, pick(V2_CONTROLLERS, names), true, pick(V2_EXTRA, names), std::move(root)};
}

Host finish(Host host, std::optional<Hierarchy> unified, std::string_view where) {
  if (!host.hierarchies.empty()) {
    host.mode = unified ? Mode::hybrid : Mode::v1;
    if (unified) {
      unified->controllers.clear(); // the v1 hierarchies hold them all
      unified->extra.clear();
      host.hierarchies.push_back(*unified);
    }
  } else if (unified) {
    host.mode = Mode::v2;
    host.hierarchies.push_back(*unified);
  } else {
    fail("unable to find cgroups: no cgroup hierarchy in ", where);
  }
  for (const auto &h : host.hierarchies) {
    std::string ctl, extra;
    for (const auto &c : h.controllers)
      ctl += cat(ctl.empty() ? "" : ",", c);
    for (const auto &c : h.extra)
      extra += cat(extra.empty() ? "" : ",", c);
    log::debug("cgroup ", h.unified ? "v2" : "v1", " hierarchy ", h.mount, ctl.empty() ? "" : " (",
               ctl, ctl.empty() ? "" : ")", extra.empty() ? "" : " for OCI groups (", extra,
               extra.empty() ? "" : ")");
  }
  return host;
}

// The directories in dir, sorted, where the hierarchies are: symbolic links are left out, as
// "cpu -> cpu,cpuacct" names a hierarchy twice.
std::vector<std::string> hierarchy_dirs(const std::string &dir) {
  std::vector<std::string> out = sys::list_subdirs(dir);
  std::sort(out.begin(), out.end());
  return out;
}

// A fake root is read by its shape only, never from the real mount table.
Host probe_fake(const std::string &root) {
  Host host;
  host.fake = true;
  if (!is_dir(root))
    fail("unable to use KOKER_CGROUP_ROOT ", root, ": not a directory");
  if (sys::exists(root + "/cgroup.controllers"))
    return finish(host, v2_hierarchy(root, "/"), root);
  std::optional<Hierarchy> unified;
  for (const auto &name : hierarchy_dirs(root)) {
    std::string path = root + "/" + name;
    if (sys::exists(path + "/cgroup.controllers")) {
      if (!unified)
        unified = v2_hierarchy(path, "/");
      continue;
    }
    if (auto h = v1_hierarchy(path, text::fields(name, ','), "/"))
      host.hierarchies.push_back(*h);
  }
  return finish(host, unified, root);
}

// /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SRC SUPER"
// (proc(5)). A v1 hierarchy's controllers are in its super options ("rw,cpu,cpuacct").
Host probe_mounts() {
  Host host;
  std::optional<Hierarchy> unified;
  for (const auto &line : text::fields(sys::read_file("/proc/self/mountinfo"), '\n')) {
    auto fields = text::fields(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4)
      continue;
    const std::string &fstype = dash[1];
    std::string mount = unescape_mountinfo(fields[4]);
    std::string root = unescape_mountinfo(fields[3]);
    if (fstype == "cgroup2" && !unified)
      unified = v2_hierarchy(mount, root);
    if (fstype != "cgroup")
      continue;
    auto h = v1_hierarchy(mount, text::fields(dash[3], ','), root);
    bool seen =
        h && std::any_of(host.hierarchies.begin(), host.hierarchies.end(), [&](const Hierarchy &o) {
          return o.controllers == h->controllers && o.extra == h->extra;
        });
    if (h && !seen)
      host.hierarchies.push_back(*h);
  }
  return finish(host, unified, "/proc/self/mountinfo");
}

// The usual layout, found with one statfs per entry of /sys/fs/cgroup: a cgroup2 file system
// there (v2), or a tmpfs holding one cgroup mount per v1 hierarchy, named after its
// controllers as in "cpu,cpuacct", and maybe a cgroup2 one (hybrid). mountinfo says the same,
// but the kernel writes a line for every mount of the host, overlays with long options too:
// with 1000 containers running, 250 KB and some 3 ms for each tool that starts one, the most
// of what made the 1000th start slower than the first (issue 21.4).
// None when this is not the layout: outside the first cgroup namespace (a mount may show a
// subtree, which only mountinfo tells), or when the v1 controllers found by name are not the
// ones /proc/self/cgroup lists (a hierarchy mounted elsewhere, or under another name).
std::optional<Host> probe_sysfs() {
  // The first cgroup namespace's inode is fixed (PROC_CGROUP_INIT_INO, Linux 4.6).
  char ns[64];
  ssize_t n = ::readlink("/proc/self/ns/cgroup", ns, sizeof ns);
  if (n <= 0 || std::string_view(ns, static_cast<size_t>(n)) != "cgroup:[4026531835]")
    return std::nullopt;
  auto magic = [](const std::string &path) -> long {
    struct statfs fs;
    return ::statfs(path.c_str(), &fs) == 0 ? static_cast<long>(fs.f_type) : 0;
  };
  const std::string top = "/sys/fs/cgroup";
  long top_magic = magic(top);
  auto found = [&](Host host, std::optional<Hierarchy> unified) {
    log::debug("cgroups: statfs of ", top, " and its entries, as /proc/self/cgroup lists them");
    return finish(std::move(host), std::move(unified), top);
  };
  if (top_magic == CGROUP2_SUPER_MAGIC)
    return found(Host{}, v2_hierarchy(top, "/"));
  if (top_magic != TMPFS_MAGIC)
    return std::nullopt;
  Host host;
  std::optional<Hierarchy> unified;
  std::set<std::string> by_name;
  for (const auto &name : hierarchy_dirs(top)) {
    std::string path = top + "/" + name;
    long m = magic(path);
    if (m == CGROUP2_SUPER_MAGIC && !unified)
      unified = v2_hierarchy(path, "/");
    if (m != CGROUP_SUPER_MAGIC)
      continue;
    auto controllers = text::fields(name, ',');
    by_name.insert(controllers.begin(), controllers.end());
    auto h = v1_hierarchy(path, controllers, "/");
    if (h && std::none_of(host.hierarchies.begin(), host.hierarchies.end(),
                          [&](const Hierarchy &o) {
                            return o.controllers == h->controllers && o.extra == h->extra;
                          }))
      host.hierarchies.push_back(*h);
  }
  std::set<std::string> listed;
  for (const auto &m : memberships("/proc/self/cgroup"))
    for (const auto &c : m.controllers) // "name=systemd" is mounted as systemd
      listed.insert(c.rfind("name=", 0) == 0 ? c.substr(5) : c);
  if (listed != by_name || (host.hierarchies.empty() && !unified))
    return std::nullopt;
  return found(std::move(host), std::move(unified));
}

} // namespace

Host probe() { return rootless_view(probe_mounted()); }

Host detail::probe_mounted() {
  // Once per process (and per KOKER_CGROUP_ROOT): koker-run asks when it makes the group
  // and again when it removes it, and reading mountinfo is not free.
  static std::optional<std::pair<std::string, Host>> cached;
  std::string fake = sys::env("KOKER_CGROUP_ROOT");
  if (cached && cached->first == fake)
    return cached->second;
  Host host;
  if (!fake.empty()) {
    log::debug("fake cgroup root ", fake, " (KOKER_CGROUP_ROOT)");
    host = probe_fake(fake);
  } else if (auto seen = probe_sysfs()) {
    host = *seen;
  } else {
    host = probe_mounts();
  }
  cached.emplace(fake, host);
  return host;
}

Mode detect() { return probe().mode; }

namespace detail {

Host koker_view(Host host) {
  auto &hs = host.hierarchies;
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [](const Hierarchy &h) { return !h.unified && h.controllers.empty(); }),
           hs.end());
  for (auto &h : hs)
    h.extra.clear();
  return host;
}

} // namespace detail

std::string mode_name(Mode mode) {
  switch (mode) {
  case Mode::v1:
    return "v1";
  case Mode::hybrid:
    return "hybrid";
  case Mode::v2:
    return "v2";
  }
  return "?";
}

} // namespace koker::cgroup
