// SPDX-License-Identifier: MIT
#include "runtime/run_flags.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

namespace koker::run_flags {

namespace {

// go-units' ulimitNameMapping.
const char *const ULIMIT_NAMES[] = {"core",    "cpu",      "data",   "fsize",      "locks",
                                    "memlock", "msgqueue", "nice",   "nofile",     "nproc",
                                    "rss",     "rtprio",   "rttime", "sigpending", "stack"};

std::optional<int64_t> parse_int(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  auto n = sys::parse_uint(negative ? s.substr(1) : s);
  if (!n || *n > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

bool valid_access(std::string_view mode) {
  if (mode.empty() || mode.size() > 3)
    return false;
  for (size_t i = 0; i < mode.size(); ++i)
    if ((mode[i] != 'r' && mode[i] != 'w' && mode[i] != 'm') ||
        mode.find(mode[i], i + 1) != std::string_view::npos)
      return false;
  return true;
}

bool is_ip(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::optional<Node> node_at(const std::string &host, const std::string &container) {
  struct stat st;
  if (::stat(host.c_str(), &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
    return std::nullopt;
  Node n;
  n.path = container;
  n.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
  n.major = major(st.st_rdev);
  n.minor = minor(st.st_rdev);
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  return n;
}

void walk_devices(const std::string &dir, std::vector<Node> &out) {
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return;
  for (struct dirent *e; (e = ::readdir(d));) {
    std::string name = e->d_name, path = dir + "/" + name;
    if (name == "." || name == ".." || path == "/dev/pts" || path == "/dev/shm" ||
        path == "/dev/mqueue" || path == "/dev/console" || path == "/dev/ptmx")
      continue;
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode))
      walk_devices(path, out);
    else if (auto n = node_at(path, path))
      out.push_back(*n);
  }
  ::closedir(d);
}

// "4.8" or "5.4.0": at least major.minor, compared with the running kernel's release.
bool kernel_at_least(std::string_view want, std::string_view what) {
  auto parts = text::split(want, '.');
  auto major_want = parts.size() >= 2 ? sys::parse_uint(parts[0]) : std::nullopt;
  auto minor_want = parts.size() >= 2 ? sys::parse_uint(parts[1]) : std::nullopt;
  if (!major_want || !minor_want)
    fail("invalid ", what, ": minKernel ", printable(want), " is not MAJOR.MINOR");
  struct utsname u;
  ::uname(&u);
  unsigned long major_have = std::strtoul(u.release, nullptr, 10);
  const char *dot = std::strchr(u.release, '.');
  unsigned long minor_have = dot ? std::strtoul(dot + 1, nullptr, 10) : 0;
  return major_have > *major_want || (major_have == *major_want && minor_have >= *minor_want);
}

// Go's GOARCH for this machine, as the profile's includes and excludes name arches, and the
// SCMP_ARCH_ that is native here.
#if defined(__x86_64__)
const char GO_ARCH[] = "amd64", NATIVE_ARCH[] = "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
const char GO_ARCH[] = "arm64", NATIVE_ARCH[] = "SCMP_ARCH_AARCH64";
#else
const char GO_ARCH[] = "", NATIVE_ARCH[] = "";
#endif

bool contains(const std::vector<std::string> &list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// moby's rule for one entry of syscalls: left out unless its includes all hold and none of
// its excludes does (caps as the bounding set holds them).
bool applies(const json::Fields &call, caps::Set caps, std::string_view what) {
  auto holds = [caps](const std::string &cap) {
    auto n = caps::from_name(cap);
    return n && ((caps >> *n) & 1);
  };
  json::Fields ex = call.object("excludes"), in = call.object("includes");
  auto arches = ex.strings("arches");
  if (!arches.empty() && contains(arches, GO_ARCH))
    return false;
  for (const auto &c : ex.strings("caps"))
    if (holds(c))
      return false;
  if (auto k = ex.string("minKernel"); !k.empty() && kernel_at_least(k, what))
    return false;
  arches = in.strings("arches");
  if (!arches.empty() && !contains(arches, GO_ARCH))
    return false;
  for (const auto &c : in.strings("caps"))
    if (!holds(c))
      return false;
  if (auto k = in.string("minKernel"); !k.empty() && !kernel_at_least(k, what))
    return false;
  return true;
}

json::Value number_member(const json::Value *v, std::string_view what) {
  if (!v->is_number() || v->as_int() < 0)
    fail("invalid ", what, ": not a non-negative number");
  return json::Value(static_cast<uint64_t>(v->as_int()));
}

} // namespace

std::string rlimit_name(const Ulimit &u) {
  std::string r = "RLIMIT_" + u.name;
  for (char &c : r)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

Ulimit parse_ulimit(std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos)
    fail("invalid ulimit argument: ", printable(spec), " (want NAME=SOFT[:HARD])");
  Ulimit u;
  u.name = std::string(spec.substr(0, eq));
  if (std::find(std::begin(ULIMIT_NAMES), std::end(ULIMIT_NAMES), u.name) == std::end(ULIMIT_NAMES))
    fail("invalid ulimit type: ", printable(u.name));
  auto limits = text::split(spec.substr(eq + 1), ':');
  if (limits.size() > 2)
    fail("too many limit value arguments - ", printable(spec.substr(eq + 1)),
         ", can only have up to two, `soft[:hard]`");
  auto soft = parse_int(limits[0]);
  auto hard = limits.size() == 2 ? parse_int(limits[1]) : soft;
  if (!soft || !hard || *soft < -1 || *hard < -1)
    fail("invalid ulimit value ", printable(spec.substr(eq + 1)), ": numbers, or -1 for unlimited");
  // -1 is unlimited, above every number
  auto above = [](int64_t a, int64_t b) { return b != -1 && (a == -1 || a > b); };
  if (above(*soft, *hard))
    fail("ulimit soft limit must be less than or equal to hard limit: ", *soft, " > ", *hard);
  u.soft = *soft;
  u.hard = *hard;
  return u;
}

Device parse_device(std::string_view spec) {
  auto parts = text::split(spec, ':');
  Device d;
  switch (parts.size()) {
  case 3:
    if (!valid_access(parts[2]))
      fail("invalid device mode: ", printable(parts[2]), " (any of r, w and m)");
    d.cgroup_permissions = parts[2];
    d.path_in_container = parts[1];
    break;
  case 2:
    if (valid_access(parts[1]))
      d.cgroup_permissions = parts[1];
    else
      d.path_in_container = parts[1];
    break;
  case 1:
    break;
  default:
    fail("invalid device specification: ", printable(spec));
  }
  d.path_on_host = parts[0];
  if (d.path_in_container.empty())
    d.path_in_container = d.path_on_host;
  for (const auto &p : {d.path_on_host, d.path_in_container})
    if (p.empty() || p[0] != '/')
      fail(printable(p), " is not an absolute path");
  for (const auto &c : text::split(d.path_in_container, '/'))
    if (c == "..")
      fail("the container path ", printable(d.path_in_container), " may not hold ..");
  return d;
}

Node device_node(const Device &d) {
  auto n = node_at(d.path_on_host, d.path_in_container);
  if (!n)
    fail("error gathering device information while adding custom device ",
         printable(d.path_on_host), ": not a device node");
  return *n;
}

std::vector<Node> host_devices() {
  std::vector<Node> out;
  walk_devices("/dev", out);
  return out;
}

std::pair<std::string, std::string> parse_add_host(std::string_view spec) {
  size_t sep = spec.find_first_of(":=");
  if (sep == std::string_view::npos || sep == 0)
    fail("bad format for add-host: ", printable(spec));
  std::string host(spec.substr(0, sep)), ip(spec.substr(sep + 1));
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']')
    ip = ip.substr(1, ip.size() - 2);
  if (!text::is_hostname(host))
    fail("invalid host name in add-host: ", printable(host));
  if (ip != "host-gateway" && !is_ip(ip))
    fail("invalid IP address in add-host: ", printable(ip));
  return {host, ip};
}

void check_dns(std::string_view ip) {
  if (!is_ip(ip))
    fail("IP address is not correctly formatted: ", printable(ip));
}

void check_dns_search(std::string_view domain) {
  if (domain == ".")
    return;
  std::string_view d = domain;
  if (!d.empty() && d.back() == '.')
    d.remove_suffix(1);
  bool ok = !d.empty() && d.size() <= 255;
  for (const auto &label : text::split(d, '.'))
    ok = ok && !label.empty() && label.size() <= 63 && label.front() != '-' &&
         label.back() != '-' &&
         text::all(label, [](char c) { return text::is_alnum(c) || c == '-'; });
  if (!ok)
    fail(printable(domain), " is not a valid domain");
}

std::pair<std::string, std::string> parse_sysctl(std::string_view spec, bool host_network) {
  size_t eq = spec.find('=');
  std::string key(spec.substr(0, eq));
  // docker's ValidateSysctl: what a container's IPC and network namespaces hold.
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                    "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced"};
  bool allowed = eq != std::string_view::npos &&
                 (std::find(std::begin(ipc), std::end(ipc), key) != std::end(ipc) ||
                  text::starts_with(key, "fs.mqueue.") || text::starts_with(key, "net."));
  if (!allowed)
    fail("sysctl ", printable(spec), " is not allowed");
  // It becomes a path under /proc/sys: plain components only.
  for (const auto &c : text::split(key, '.'))
    if (c.empty() ||
        !text::all(c, [](char ch) { return text::is_alnum(ch) || ch == '_' || ch == '-'; }))
      fail("sysctl ", printable(spec), " is not allowed: ", printable(key),
           " is not a sysctl name");
  if (host_network && text::starts_with(key, "net."))
    fail("sysctl ", printable(key), " is not allowed with --network host (it is the host's)");
  return {key, std::string(spec.substr(eq + 1))};
}

int parse_stop_timeout(std::string_view text) {
  auto n = sys::parse_uint(text);
  if (!n || *n > 86400)
    fail("invalid stop timeout ", printable(text), " (seconds, 0 to 86400)");
  return static_cast<int>(*n);
}

json::Value seccomp_from_docker(std::string_view text, caps::Set caps, std::string_view what) {
  json::Value doc = json::parse(text, what);
  json::Fields f(&doc, std::string(what));
  json::Value out = json::Value::object();
  std::string default_action = f.string("defaultAction");
  if (default_action.empty())
    fail("invalid ", what, ": no defaultAction");
  out.set("defaultAction", default_action);
  if (const json::Value *e = f.find("defaultErrnoRet"); e && !e->is_null())
    out.set("defaultErrnoRet", number_member(e, cat(what, ": defaultErrnoRet")));
  std::vector<std::string> arches = f.strings("architectures");
  const json::Value *arch_map = f.find("archMap");
  if (arch_map && !arch_map->is_null()) {
    if (!arches.empty() && arch_map->is_array() && !arch_map->items().empty())
      fail("invalid ", what,
           ": both 'architectures' and 'archMap' are specified in the seccomp "
           "profile, use either 'architectures' or 'archMap'");
    if (!arch_map->is_array())
      fail("invalid ", what, ": archMap is not an array");
    for (const auto &a : arch_map->items()) {
      json::Fields entry = f.element(a, "archMap[]");
      if (entry.string("architecture") == NATIVE_ARCH) {
        arches.push_back(NATIVE_ARCH);
        for (const auto &sub : entry.strings("subArchitectures"))
          arches.push_back(sub);
      }
    }
  }
  if (!arches.empty())
    out.set("architectures", json::string_array(arches));
  if (auto flags = f.strings("flags"); !flags.empty())
    out.set("flags", json::string_array(flags));
  json::Value syscalls = json::Value::array();
  const json::Value *calls = f.find("syscalls");
  if (calls && !calls->is_null() && !calls->is_array())
    fail("invalid ", what, ": syscalls is not an array");
  for (size_t i = 0; calls && calls->is_array() && i < calls->items().size(); ++i) {
    std::string where = cat("syscalls[", i, "]");
    json::Fields call = f.element(calls->items()[i], where);
    std::vector<std::string> names = call.strings("names");
    if (std::string name = call.string("name"); !name.empty()) {
      if (!names.empty())
        fail("invalid ", what, ": ", where, ": use either 'name' or 'names'");
      names.push_back(name);
    }
    if (!applies(call, caps, what))
      continue;
    json::Value rule = json::Value::object();
    rule.set("names", json::string_array(names));
    rule.set("action", call.string("action"));
    if (const json::Value *e = call.find("errnoRet"); e && !e->is_null())
      rule.set("errnoRet", number_member(e, cat(what, ": ", where, ".errnoRet")));
    json::Value args = json::Value::array();
    const json::Value *given = call.find("args");
    for (size_t j = 0; given && given->is_array() && j < given->items().size(); ++j) {
      json::Fields a = call.element(given->items()[j], cat(where, ".args[", j, "]"));
      json::Value arg = json::Value::object();
      for (const char *k : {"index", "value", "valueTwo"})
        arg.set(k, json::Value(static_cast<uint64_t>(a.integer(k))));
      arg.set("op", a.string("op"));
      args.push(std::move(arg));
    }
    if (!args.items().empty())
      rule.set("args", std::move(args));
    syscalls.push(std::move(rule));
  }
  out.set("syscalls", std::move(syscalls));
  return out;
}

} // namespace koker::run_flags
