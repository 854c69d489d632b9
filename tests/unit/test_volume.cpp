// SPDX-License-Identifier: MIT
#include "base/error.hpp"
#include "check.hpp"
#include "runtime/mount_spec.hpp"
#include "store/volume.hpp"

using namespace koker;

namespace {

// The message of the Error parse throws for spec, or "" when it is accepted.
template <class Parse> std::string error_of(Parse parse, const std::string &spec) {
  try {
    parse(spec);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

bool says(const std::string &message, const std::string &part) {
  return message.find(part) != std::string::npos;
}

} // namespace

TEST("volume: names as docker's local driver takes them") {
  CHECK(volume::valid_name("db") && volume::valid_name("a.b_c-d") && volume::valid_name("0x"));
  CHECK(!volume::valid_name("a") && !volume::valid_name(""));
  CHECK(!volume::valid_name("a/b") && !volume::valid_name("..") && !volume::valid_name(".x"));
  CHECK(!volume::valid_name("-x") && !volume::valid_name("_x") && !volume::valid_name("x y"));
  CHECK(volume::valid_name(std::string(255, 'v')) && !volume::valid_name(std::string(256, 'v')));
}

TEST("mount_spec: -v HOSTPATH:PATH, NAME:PATH and PATH") {
  auto v = mount_spec::parse_volume("/srv/data:/data:ro");
  CHECK(v.type == "bind" && v.source == "/srv/data" && v.target == "/data" && v.read_only);
  v = mount_spec::parse_volume("db:/var/lib//db/:rw");
  CHECK(v.type == "volume" && v.source == "db" && v.target == "/var/lib/db" && !v.read_only);
  v = mount_spec::parse_volume("/cache");
  CHECK(v.type == "volume" && v.source.empty() && v.target == "/cache");
  v = mount_spec::parse_volume("db:/x:ro,nocopy");
  CHECK(v.read_only && v.nocopy);
  auto bad = [](const std::string &spec) { return error_of(mount_spec::parse_volume, spec); };
  CHECK(bad("/srv:/srv/..hidden").empty()); // a name, not a parent
  CHECK(says(bad("/tmp:/"), "the destination can't be '/'"));
  CHECK(says(bad("/tmp://."), "the destination can't be '/'"));
  CHECK(says(bad("/tmp:/a/../b"), "may not hold .."));
  CHECK(says(bad("/a/../b:/a"), "may not hold .."));
  CHECK(says(bad("a/b:/a"), "invalid characters for a local volume name"));
  CHECK(says(bad("..:/a"), "invalid characters for a local volume name"));
  CHECK(says(bad("db:rel"), "must be an absolute path"));
  CHECK(says(bad("/tmp:/a:rx"), "unknown option rx"));
  CHECK(says(bad("a:b:c:d"), "want HOSTPATH:PATH[:ro]"));
}

TEST("mount_spec: --mount in docker's syntax, with docker's messages") {
  auto m = mount_spec::parse_mount("type=volume,src=db,dst=/data,readonly");
  CHECK(m.type == "volume" && m.source == "db" && m.target == "/data" && m.read_only);
  m = mount_spec::parse_mount("type=bind,source=/srv,destination=/srv,ro=false");
  CHECK(m.type == "bind" && m.source == "/srv" && !m.read_only);
  m = mount_spec::parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770");
  CHECK(m.type == "tmpfs" && m.tmpfs_options == "size=1048576,mode=1770");
  m = mount_spec::parse_mount("type=volume,dst=/anon,volume-nocopy");
  CHECK(m.source.empty() && m.nocopy);
  auto bad = [](const std::string &spec) { return error_of(mount_spec::parse_mount, spec); };
  CHECK(says(bad("dst=/x"), "type is required"));
  CHECK(says(bad("type=volume"), "target is required"));
  CHECK(says(bad("type=volume,dst=/x,foo=bar"), "unexpected key 'foo' in 'foo=bar'"));
  CHECK(says(bad("type=volume,dst=/x,junk"), "invalid field 'junk' must be a key=value pair"));
  CHECK(says(bad("type=volume,dst=/x,ro=perhaps"), "invalid value for ro: perhaps"));
  CHECK(says(bad("type=tmpfs,dst=/x,tmpfs-size=lots"), "invalid value for tmpfs-size"));
  CHECK(says(bad("type=tmpfs,dst=/x,tmpfs-mode=8"), "invalid value for tmpfs-mode: 8"));
  CHECK(says(bad("type=bind,dst=/x,tmpfs-mode=700"), "cannot mix 'tmpfs-*' options"));
  CHECK(says(bad("type=tmpfs,dst=/x,volume-nocopy"), "cannot mix 'volume-*' options"));
  CHECK(says(bad("type=nfs,dst=/x"), "mount type unknown: nfs"));
  CHECK(says(bad("type=bind,dst=/x"), "field Source must not be empty"));
  CHECK(says(bad("type=bind,src=rel,dst=/x"), "must be absolute"));
  CHECK(says(bad("type=tmpfs,src=x,dst=/x"), "field Source must not be specified"));
  CHECK(says(bad("type=volume,src=a/b,dst=/x"), "invalid characters"));
}

TEST("mount_spec: --tmpfs PATH[:OPTIONS], and one mount per target") {
  auto t = mount_spec::parse_tmpfs("/run:size=64k,mode=1777,noexec");
  CHECK(t.type == "tmpfs" && t.target == "/run" && t.tmpfs_options == "size=64k,mode=1777,noexec");
  t = mount_spec::parse_tmpfs("/ro:ro");
  CHECK(t.read_only && t.tmpfs_options.empty());
  auto bad = [](const std::string &spec) { return error_of(mount_spec::parse_tmpfs, spec); };
  CHECK(says(bad("rel"), "must be an absolute path"));
  CHECK(says(bad("/"), "can't be '/'"));
  CHECK(says(bad("/t:size=1x"), "unknown or invalid tmpfs option size=1x"));
  CHECK(says(bad("/t:mode=999"), "unknown or invalid tmpfs option mode=999"));
  CHECK(says(bad("/t:uid=root"), "unknown or invalid tmpfs option uid=root"));
  CHECK(says(bad("/t:bind"), "unknown or invalid tmpfs option bind"));
  std::vector<mount_spec::Spec> specs{mount_spec::parse_volume("db:/x"),
                                      mount_spec::parse_tmpfs("/x/")};
  CHECK(says(error_of([&](const std::string &) { mount_spec::check_distinct_targets(specs); }, ""),
             "Duplicate mount point: /x"));
  CHECK(mount_spec::clean("/a//b/./c/") == "/a/b/c" && mount_spec::clean("/.") == "/");
}
