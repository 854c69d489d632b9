// SPDX-License-Identifier: MIT
#include "base/rootless.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <sys/stat.h>
#include <unistd.h>

namespace koker::rootless {
namespace {

// The first line of /proc/self/uid_map: "0 0 4294967295" in the host's user namespace.
struct MapOfRoot {
  bool initial = true;
  uid_t outside = 0; // what uid 0 is on the host
};

MapOfRoot map_of_root() {
  MapOfRoot m;
  std::vector<IdRange> map = read_id_map("/proc/self/uid_map");
  if (map.empty())
    return m; // a kernel without user namespaces: the host's own
  for (const auto &r : map) {
    if (r.inside == 0 && r.outside == 0 && r.count == 4294967295ULL)
      return m;
    if (r.inside == 0)
      m.outside = static_cast<uid_t>(r.outside);
  }
  m.initial = false;
  return m;
}

const MapOfRoot &root_map() {
  static const MapOfRoot m = map_of_root();
  return m;
}

} // namespace

std::vector<IdRange> read_id_map(const std::string &path) {
  std::vector<IdRange> out;
  auto text = sys::read_file_if_exists(path, 64 << 10);
  if (!text)
    return out;
  for (const auto &line : text::fields(*text, '\n')) {
    auto f = text::fields(line, ' ');
    auto inside = f.size() == 3 ? sys::parse_uint(f[0]) : std::nullopt;
    auto outside = f.size() == 3 ? sys::parse_uint(f[1]) : std::nullopt;
    auto count = f.size() == 3 ? sys::parse_uint(f[2]) : std::nullopt;
    if (inside && outside && count)
      out.push_back({*inside, *outside, *count});
  }
  return out;
}

bool active() { return ::geteuid() != 0 || !root_map().initial; }

uid_t host_uid() { return root_map().initial ? ::geteuid() : root_map().outside; }

std::string data_dir() {
  std::string xdg = sys::env("XDG_DATA_HOME");
  if (!xdg.empty() && xdg[0] == '/')
    return xdg + "/koker";
  std::string home = sys::env("HOME");
  if (home.empty() || home[0] != '/')
    fail("rootless: unable to find the store: neither XDG_DATA_HOME nor HOME is set (use --root)");
  return home + "/.local/share/koker";
}

std::string runtime_dir(const std::string &name) {
  if (!active())
    return "/run/" + name;
  std::string xdg = sys::env("XDG_RUNTIME_DIR");
  std::string dir =
      !xdg.empty() && xdg[0] == '/' ? cat(xdg, "/", name) : cat("/tmp/", name, "-", host_uid());
  if (::mkdir(dir.c_str(), 0700) == 0)
    log::debug("rootless: made the runtime directory ", dir);
  else if (errno != EEXIST)
    sys_fail("rootless: unable to make the runtime directory ", dir);
  struct stat st;
  check(::lstat(dir.c_str(), &st), "rootless: unable to read ", dir);
  // Inside the user namespace the user is uid 0, outside its own uid: geteuid() either way.
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077))
    fail("rootless: refusing the runtime directory ", dir,
         ": not a directory of this user with mode 0700 (remove it or set XDG_RUNTIME_DIR)");
  return dir;
}

} // namespace koker::rootless
