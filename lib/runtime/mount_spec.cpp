// SPDX-License-Identifier: MIT
#include "runtime/mount_spec.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "store/volume.hpp"
#include <algorithm>

namespace koker::mount_spec {

namespace {

// A container path a mount may land on: absolute, no "..", not the root itself. what starts
// the message ("invalid volume SPEC", "invalid --mount ...").
void check_target(std::string_view path, const std::string &what) {
  if (path.empty() || path[0] != '/')
    fail(what, ": the destination ", printable(path), " must be an absolute path");
  for (const auto &component : text::split(path, '/'))
    if (component == "..")
      fail(what, ": paths may not hold ..");
  if (clean(path) == "/")
    fail(what, ": the destination can't be '/'");
}

void check_host_path(std::string_view path, const std::string &what) {
  if (path.empty() || path[0] != '/')
    fail(what, ": the host path ", printable(path), " must be absolute");
  for (const auto &component : text::split(path, '/'))
    if (component == "..")
      fail(what, ": paths may not hold ..");
}

// docker's strconv.ParseBool, for readonly=.
bool parse_bool(std::string_view value, const std::string &key) {
  for (const char *t : {"1", "t", "T", "TRUE", "true", "True"})
    if (value == t)
      return true;
  for (const char *f : {"0", "f", "F", "FALSE", "false", "False"})
    if (value == f)
      return false;
  fail("invalid value for ", key, ": ", printable(value));
}

// The tmpfs options koker passes on: the flags oci_spec knows and the file system's own
// values, checked here so that a typo is a usage error, not a failed start.
void check_tmpfs_option(std::string_view opt, const std::string &what) {
  static const char *const flags[] = {"ro",     "rw",  "exec",  "noexec", "suid",
                                      "nosuid", "dev", "nodev", "atime",  "noatime"};
  for (const char *f : flags)
    if (opt == f)
      return;
  size_t eq = opt.find('=');
  std::string_view key = opt.substr(0, eq), value = eq == opt.npos ? "" : opt.substr(eq + 1);
  bool ok = false;
  if (key == "size")
    ok = !value.empty() && (text::all(value, text::is_digit) ||
                            (text::all(value.substr(0, value.size() - 1), text::is_digit) &&
                             std::string_view("kKmMgG%").find(value.back()) != value.npos));
  else if (key == "mode")
    ok = !value.empty() && value.size() <= 4 &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
  else if (key == "nr_inodes" || key == "uid" || key == "gid")
    ok = sys::parse_uint(value).has_value();
  if (!ok)
    fail(what, ": unknown or invalid tmpfs option ", printable(opt));
}

} // namespace

std::string clean(std::string_view path) {
  std::vector<std::string> parts;
  for (const auto &c : text::fields(path, '/'))
    if (c == "..") {
      if (!parts.empty())
        parts.pop_back();
    } else if (c != ".") {
      parts.push_back(c);
    }
  std::string out;
  for (const auto &c : parts)
    out += "/" + c;
  return out.empty() ? "/" : out;
}

Spec parse_volume(std::string_view spec) {
  std::string what = cat("invalid volume ", printable(spec));
  auto parts = text::split(spec, ':');
  Spec s;
  s.type = "volume";
  s.from_volume_flag = true;
  if (parts.size() == 1) { // "-v /data": an anonymous volume
    check_target(parts[0], what);
    s.target = clean(parts[0]);
    return s;
  }
  if (parts.size() > 3)
    fail(what, " (want HOSTPATH:PATH[:ro], NAME:PATH[:ro] or PATH)");
  if (parts.size() == 3) {
    for (const auto &opt : text::split(parts[2], ',')) {
      if (opt == "ro" || opt == "rw")
        s.read_only = opt == "ro";
      else if (opt == "nocopy")
        s.nocopy = true;
      else
        fail(what, ": unknown option ", printable(opt), " (want HOSTPATH:PATH[:ro])");
    }
  }
  check_target(parts[1], what);
  s.target = clean(parts[1]);
  if (!parts[0].empty() && parts[0][0] == '/') {
    check_host_path(parts[0], what);
    s.type = "bind";
    s.source = parts[0];
  } else {
    // docker: a source without a leading slash names a volume
    try {
      volume::check_name(parts[0]);
    } catch (const Error &e) {
      fail(what, ": ", e.what());
    }
    s.source = parts[0];
  }
  return s;
}

Spec parse_mount(std::string_view spec) {
  // docker's cli/opts/mount.go, messages and all
  std::string what = cat("invalid argument \"", printable(spec), "\" for --mount");
  Spec s;
  bool volume_opts = false, tmpfs_opts = false;
  std::string size, mode;
  for (const auto &field : text::split(spec, ',')) {
    size_t eq = field.find('=');
    std::string key = text::lower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        s.read_only = true;
        continue;
      }
      if (key == "volume-nocopy") {
        s.nocopy = volume_opts = true;
        continue;
      }
      fail(what, ": invalid field '", printable(field), "' must be a key=value pair");
    }
    std::string value = field.substr(eq + 1);
    try {
      if (key == "type")
        s.type = text::lower(value);
      else if (key == "source" || key == "src")
        s.source = value;
      else if (key == "target" || key == "dst" || key == "destination")
        s.target = value;
      else if (key == "readonly" || key == "ro")
        s.read_only = parse_bool(value, key);
      else if (key == "volume-nocopy") {
        s.nocopy = parse_bool(value, key);
        volume_opts = true;
      } else if (key == "tmpfs-size") {
        try {
          size = std::to_string(cgroup::parse_size(value));
        } catch (const Error &) {
          fail("invalid value for ", key, ": ", printable(value));
        }
        tmpfs_opts = true;
      } else if (key == "tmpfs-mode") {
        if (value.empty() || value.size() > 4 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; }))
          fail("invalid value for ", key, ": ", printable(value));
        mode = value;
        tmpfs_opts = true;
      } else
        fail("unexpected key '", printable(key), "' in '", printable(field), "'");
    } catch (const Error &e) {
      fail(what, ": ", e.what());
    }
  }
  if (s.type.empty())
    fail(what, ": type is required");
  if (s.target.empty())
    fail(what, ": target is required");
  if (s.type != "bind" && s.type != "volume" && s.type != "tmpfs")
    fail(what, ": mount type unknown: ", printable(s.type), " (bind, volume or tmpfs)");
  if (volume_opts && s.type != "volume")
    fail(what, ": cannot mix 'volume-*' options with mount type '", s.type, "'");
  if (tmpfs_opts && s.type != "tmpfs")
    fail(what, ": cannot mix 'tmpfs-*' options with mount type '", s.type, "'");
  check_target(s.target, what);
  s.target = clean(s.target);
  if (s.type == "bind") {
    if (s.source.empty())
      fail(what, ": field Source must not be empty for a bind");
    check_host_path(s.source, what);
  } else if (s.type == "volume" && !s.source.empty()) {
    try {
      volume::check_name(s.source);
    } catch (const Error &e) {
      fail(what, ": ", e.what());
    }
  } else if (s.type == "tmpfs") {
    if (!s.source.empty())
      fail(what, ": field Source must not be specified for a tmpfs");
    if (!size.empty())
      s.tmpfs_options = "size=" + size;
    if (!mode.empty())
      s.tmpfs_options += (s.tmpfs_options.empty() ? "mode=" : ",mode=") + mode;
  }
  return s;
}

Spec parse_tmpfs(std::string_view spec) {
  std::string what = cat("invalid --tmpfs ", printable(spec));
  size_t colon = spec.find(':');
  Spec s;
  s.type = "tmpfs";
  check_target(spec.substr(0, colon), what);
  s.target = clean(spec.substr(0, colon));
  if (colon != spec.npos) {
    std::vector<std::string> kept;
    for (const auto &opt : text::split(spec.substr(colon + 1), ',')) {
      check_tmpfs_option(opt, what);
      if (opt == "ro" || opt == "rw")
        s.read_only = opt == "ro";
      else
        kept.push_back(opt);
    }
    for (const auto &opt : kept)
      s.tmpfs_options += (s.tmpfs_options.empty() ? "" : ",") + opt;
  }
  return s;
}

void check_distinct_targets(const std::vector<Spec> &specs) {
  for (size_t i = 0; i < specs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (specs[i].target == specs[j].target)
        fail("Duplicate mount point: ", printable(specs[i].target));
}

} // namespace koker::mount_spec
