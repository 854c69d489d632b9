// SPDX-License-Identifier: MIT
// Which cgroups the host has: v1, hybrid or v2, read from /proc/self/mountinfo or from the
// shape of a fake tree (KOKER_CGROUP_ROOT, for tests).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <sys/stat.h>

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

std::vector<std::string> koker_v1_controllers(const std::vector<std::string> &names) {
  std::vector<std::string> out;
  for (const char *c : V1_CONTROLLERS)
    if (std::find(names.begin(), names.end(), c) != names.end())
      out.emplace_back(c);
  return out;
}

std::vector<std::string> v2_controllers(const std::string &mount) {
  auto names = text::fields(read_value(mount + "/cgroup.controllers").value_or(""), ' ');
  std::vector<std::string> out;
  for (const char *c : V2_CONTROLLERS)
    if (std::find(names.begin(), names.end(), c) != names.end())
      out.emplace_back(c);
  return out;
}

Host finish(Host host, std::optional<std::string> unified, std::string_view where) {
  if (!host.hierarchies.empty()) {
    host.mode = unified ? Mode::hybrid : Mode::v1;
    if (unified)
      host.hierarchies.push_back({*unified, {}, true});
  } else if (unified) {
    host.mode = Mode::v2;
    host.hierarchies.push_back({*unified, v2_controllers(*unified), true});
  } else {
    fail("unable to find cgroups: no cgroup hierarchy in ", where);
  }
  for (const auto &h : host.hierarchies) {
    std::string ctl;
    for (const auto &c : h.controllers)
      ctl += cat(ctl.empty() ? "" : ",", c);
    log::debug("cgroup ", h.unified ? "v2" : "v1", " hierarchy ", h.mount, ctl.empty() ? "" : " (",
               ctl, ctl.empty() ? "" : ")");
  }
  return host;
}

// A fake root is read by its shape only, never from the real mount table.
Host probe_fake(const std::string &root) {
  Host host;
  host.fake = true;
  if (!is_dir(root))
    fail("unable to use KOKER_CGROUP_ROOT ", root, ": not a directory");
  if (sys::exists(root + "/cgroup.controllers"))
    return finish(host, root, root);
  std::optional<std::string> unified;
  auto names = sys::list_dir(root);
  std::sort(names.begin(), names.end());
  for (const auto &name : names) {
    std::string path = root + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
      continue; // "cpu -> cpu,cpuacct" symlinks name a hierarchy twice
    if (sys::exists(path + "/cgroup.controllers")) {
      if (!unified)
        unified = path;
      continue;
    }
    auto ctl = koker_v1_controllers(text::fields(name, ','));
    if (!ctl.empty())
      host.hierarchies.push_back({path, ctl, false});
  }
  return finish(host, unified, root);
}

// /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SRC SUPER"
// (proc(5)). A v1 hierarchy's controllers are in its super options ("rw,cpu,cpuacct").
Host probe_mounts() {
  Host host;
  std::optional<std::string> unified;
  for (const auto &line : text::fields(sys::read_file("/proc/self/mountinfo"), '\n')) {
    auto fields = text::fields(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4)
      continue;
    const std::string &fstype = dash[1];
    std::string mount = unescape_mountinfo(fields[4]);
    if (fstype == "cgroup2" && !unified)
      unified = mount;
    if (fstype != "cgroup")
      continue;
    auto ctl = koker_v1_controllers(text::fields(dash[3], ','));
    bool seen = std::any_of(host.hierarchies.begin(), host.hierarchies.end(),
                            [&](const Hierarchy &h) { return h.controllers == ctl; });
    if (!ctl.empty() && !seen)
      host.hierarchies.push_back({mount, ctl, false});
  }
  return finish(host, unified, "/proc/self/mountinfo");
}

} // namespace

Host probe() {
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
  } else {
    host = probe_mounts();
  }
  cached.emplace(fake, host);
  return host;
}

Mode detect() { return probe().mode; }

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
