// SPDX-License-Identifier: MIT
// A rootless caller's cgroups: the subtree of the unified (v2) tree that the host delegates to
// the user, where koker makes its groups as it makes them below the root for root.
#include "base/log.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::cgroup::detail {

namespace {

// The caller's own group in the unified tree h, as a directory below h.mount: its
// /proc/self/cgroup line "0::PATH", less the part of the tree the mount does not show
// (h.root, in another cgroup namespace); under a fake root, KOKER_CGROUP_SELF (tests), else
// the fake root itself.
std::optional<std::string> own_dir(const Hierarchy &h, bool fake) {
  std::string path;
  if (fake) {
    path = sys::env("KOKER_CGROUP_SELF");
  } else {
    for (const auto &m : memberships("/proc/self/cgroup"))
      if (m.id == "0" && m.controllers.empty())
        path = m.path;
  }
  if (path.empty() || path[0] != '/' || path.find("/..") != std::string::npos)
    return fake ? std::optional<std::string>(h.mount) : std::nullopt;
  if (h.root != "/") {
    if (path != h.root && !text::starts_with(path, h.root + "/"))
      return std::nullopt;
    path = path.substr(h.root.size());
  }
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  return h.mount + path;
}

// Whether the caller owns dir as a delegated group: its cgroup.procs (to move processes in)
// and cgroup.subtree_control (to hand controllers down), cgroup-v2.rst "Delegation". Root
// of koker's user namespace is the user, so geteuid() compares either way.
bool owned(const std::string &dir) {
  for (const char *file : {"/cgroup.procs", "/cgroup.subtree_control"}) {
    struct stat st;
    if (::stat((dir + file).c_str(), &st) < 0 || st.st_uid != ::geteuid())
      return false;
  }
  return true;
}

// host with its unified tree h cut down to top, a group below h.mount: top is then the one
// hierarchy, as if mounted there, with the controllers of koker's it offers.
Host cut_to(Host host, const std::string &top) {
  const Hierarchy &h = host.hierarchies[0];
  auto names = text::fields(read_value(top + "/cgroup.controllers").value_or(""), ' ');
  Hierarchy d = h;
  d.mount = top;
  d.root = h.root == "/" ? top.substr(h.mount.size()) : h.root + top.substr(h.mount.size());
  d.controllers.clear();
  for (const char *c : V2_CONTROLLERS)
    if (std::find(names.begin(), names.end(), c) != names.end())
      d.controllers.emplace_back(c);
  log::debug("rootless: delegated cgroup v2 subtree ", delegation_summary(top, d.controllers));
  host.delegated = top;
  host.hierarchies = {d};
  return host;
}

bool unified_only(const Host &host) {
  return host.mode == Mode::v2 && host.hierarchies.size() == 1;
}

} // namespace

std::string delegation_summary(const std::string &top,
                               const std::vector<std::string> &controllers) {
  std::string list;
  for (const auto &c : controllers)
    list += cat(list.empty() ? "" : " ", c);
  return cat(top, " (controllers: ", list.empty() ? "none" : list, ")");
}

Host rootless_view(Host host) {
  if (!rootless::active() || !unified_only(host))
    return host;
  const Hierarchy &h = host.hierarchies[0];
  auto own = own_dir(h, host.fake);
  // Up from the caller's own group while the user owns each: the highest is the boundary
  // (user@UID.service under systemd). A login session's scope is root's: nothing delegated.
  std::optional<std::string> top;
  for (std::string d = own.value_or(""); !d.empty() && owned(d);) {
    top = d;
    if (d == h.mount)
      break;
    d = d.substr(0, d.rfind('/'));
    if (d.size() < h.mount.size())
      break;
  }
  if (!top) {
    log::debug("rootless: no delegated cgroup v2 subtree above ",
               own.value_or("this process's group"),
               " (not under the user's systemd, user@UID.service?): limits are not applied");
    host.delegated.clear();
    return host;
  }
  return cut_to(std::move(host), *top);
}

std::optional<Host> recorded_view(Host host, const std::string &top) {
  if (!rootless::active() || !unified_only(host))
    return std::nullopt;
  const Hierarchy &h = host.hierarchies[0];
  if (!text::starts_with(top, h.mount + "/") || top.find("/..") != std::string::npos ||
      !owned(top)) {
    log::debug("rootless: the recorded cgroup subtree ", top, " is no longer delegated here");
    return std::nullopt;
  }
  return cut_to(std::move(host), top);
}

} // namespace koker::cgroup::detail

namespace koker::cgroup {

std::string delegation_text(const Host &host) {
  if (host.delegated.empty())
    return "no delegated cgroup (limits not applied)";
  return cat("delegated v2 subtree ",
             detail::delegation_summary(host.delegated, host.hierarchies[0].controllers));
}

} // namespace koker::cgroup
