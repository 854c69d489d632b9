// SPDX-License-Identifier: MIT
#include "image/archive.hpp"
#include "check.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <archive.h>
#include <archive_entry.h>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace koker;
using archive::Limits;
using archive::WhiteoutKind;

namespace {

struct TmpDir {
  std::string path;
  TmpDir() {
    char t[] = "/tmp/koker-unit-archive-XXXXXX";
    if (!::mkdtemp(t))
      sys_fail("mkdtemp");
    path = t;
  }
  ~TmpDir() { sys::rm_rf(path); }
  std::string operator/(std::string_view rel) const { return cat(path, "/", rel); }
};

struct Ent {
  std::string name;
  unsigned type = AE_IFREG;
  std::string data;
  std::string symlink;
  std::string hardlink;
  unsigned perm = 0644;
  std::vector<std::pair<std::string, std::string>> xattrs;
  dev_t rdev = 0;
};
Ent file(std::string name, std::string data = "data", unsigned perm = 0644) {
  Ent e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.perm = perm;
  return e;
}
Ent dir(std::string name, unsigned perm = 0755) {
  Ent e;
  e.name = std::move(name);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
Ent sym(std::string name, std::string target) {
  Ent e;
  e.name = std::move(name);
  e.type = AE_IFLNK;
  e.symlink = std::move(target);
  e.perm = 0777;
  return e;
}
Ent hlink(std::string name, std::string target) {
  Ent e;
  e.name = std::move(name);
  e.hardlink = std::move(target);
  return e;
}

la_ssize_t append_cb(struct archive *, void *p, const void *buf, size_t n) {
  static_cast<std::string *>(p)->append(static_cast<const char *>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A tar built by libarchive's own writer (pax where needed), under a UTF-8 locale like Go's
// archive/tar, which writes pax "path" records in UTF-8.
std::string make_tar(const std::vector<Ent> &ents) {
  locale_t loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(nullptr));
  locale_t old = ::uselocale(loc);
  std::string out;
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, append_cb, nullptr);
  for (const auto &x : ents) {
    archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, x.name.c_str());
    archive_entry_set_filetype(e, x.type);
    archive_entry_set_perm(e, x.perm);
    archive_entry_set_mtime(e, 1700000000, 0);
    // our own ids, so restoring owners works without root too
    archive_entry_set_uid(e, ::geteuid());
    archive_entry_set_gid(e, ::getegid());
    archive_entry_set_size(e, x.type == AE_IFREG && x.hardlink.empty() ? x.data.size() : 0);
    if (!x.symlink.empty())
      archive_entry_copy_symlink(e, x.symlink.c_str());
    if (!x.hardlink.empty())
      archive_entry_copy_hardlink(e, x.hardlink.c_str());
    if (x.type == AE_IFCHR || x.type == AE_IFBLK)
      archive_entry_set_rdev(e, x.rdev);
    for (const auto &[n, v] : x.xattrs)
      archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
    if (archive_write_header(a, e) < ARCHIVE_WARN)
      fail("make_tar: ", archive_error_string(a));
    if (!x.data.empty() && x.hardlink.empty())
      archive_write_data(a, x.data.data(), x.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  ::uselocale(old);
  ::freelocale(loc);
  return out;
}

// data compressed by libarchive's writer ("gzip" or "zstd"), as one raw stream.
std::string compress(const std::string &data, const char *filter) {
  std::string out;
  struct archive *a = archive_write_new();
  archive_write_set_format_raw(a);
  if (std::string_view(filter) == "gzip")
    archive_write_add_filter_gzip(a);
  else
    archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, append_cb, nullptr);
  archive_entry *e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Fd mem_fd(std::string_view data) {
  Fd fd(::memfd_create("layer", MFD_CLOEXEC));
  sys::write_fd(fd.get(), data, "memfd");
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

archive::LayerInfo extract(const std::string &data, const std::string &dir, Limits l = {}) {
  Fd fd = mem_fd(data);
  return archive::extract_layer(fd.get(), dir, l);
}

// The error text of extracting data, or "" when it succeeded.
std::string extract_error(const std::string &data, const std::string &dir, Limits l = {}) {
  try {
    extract(data, dir, l);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string read(const std::string &path) { return sys::read_file(path); }

struct stat lstat_of(const std::string &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0)
    st.st_mode = 0;
  return st;
}

std::string xattr(const std::string &path, const char *name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> list_names(const std::string &tar) {
  std::vector<std::string> names;
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK)
    names.emplace_back(archive_entry_pathname(e));
  archive_read_free(a);
  return names;
}

void set_env(const char *name, const char *value) {
  if (value)
    ::setenv(name, value, 1);
  else
    ::unsetenv(name);
}

} // namespace

TEST("archive: normalise_path cleans names and refuses ..") {
  using archive::normalise_path;
  CHECK(normalise_path("a/b") == "a/b");
  CHECK(normalise_path("/etc/passwd") == "etc/passwd");
  CHECK(normalise_path("./a//b/./c/") == "a/b/c");
  CHECK(normalise_path("///x") == "x");
  CHECK(normalise_path("a/.../b") == "a/.../b");
  CHECK(normalise_path("..a/b..") == "..a/b..");
  CHECK(!normalise_path("../x"));
  CHECK(!normalise_path("a/../b"));
  CHECK(!normalise_path("a/.."));
  CHECK(!normalise_path("/.."));
  CHECK(!normalise_path(""));
  CHECK(!normalise_path("./"));
  CHECK(!normalise_path("/"));
  CHECK(!normalise_path("."));
}

TEST("archive: classify_whiteout finds file and opaque whiteouts, refuses invalid ones") {
  using archive::classify_whiteout;
  auto w = classify_whiteout("a/.wh.b");
  CHECK(w.kind == WhiteoutKind::file && w.target == "a/b");
  w = classify_whiteout(".wh.etc");
  CHECK(w.kind == WhiteoutKind::file && w.target == "etc");
  w = classify_whiteout("a/b/.wh..wh..opq");
  CHECK(w.kind == WhiteoutKind::opaque && w.target == "a/b");
  w = classify_whiteout(".wh..wh..opq");
  CHECK(w.kind == WhiteoutKind::opaque && w.target == ".");
  w = classify_whiteout("a/.wh..hidden");
  CHECK(w.kind == WhiteoutKind::file && w.target == "a/.hidden");
  w = classify_whiteout("a/.wh...x");
  CHECK(w.kind == WhiteoutKind::file && w.target == "a/..x");
  for (const char *bad :
       {".wh.", ".wh..", ".wh...", "dir/.wh...", "a/.wh.", "a/.wh..wh.plnk", ".wh..wh..opqx"}) {
    w = classify_whiteout(bad);
    CHECK(w.kind == WhiteoutKind::none && w.target.empty());
  }
  for (const char *plain : {"a/b", "a/wh.b", "a/.whb", ".w", "x.wh.y", ".wh/x"}) {
    w = classify_whiteout(plain);
    CHECK(w.kind == WhiteoutKind::none && w.target.empty());
  }
}

TEST("archive: plain, gzip and zstd layers unpack with the diff_id of the tar stream") {
  std::string tar = make_tar({dir("etc"), file("etc/hostname", "koker\n"),
                              file("bin/tool", std::string(300000, 'x'), 0755),
                              sym("etc/link", "/etc/hostname"), hlink("bin/hl", "bin/tool")});
  std::string want = digest::sha256(tar);
  for (const char *filter : {"none", "gzip", "zstd"}) {
    TmpDir d;
    std::string input = std::string_view(filter) == "none" ? tar : compress(tar, filter);
    CHECK(std::string_view(filter) == "none" || input != tar);
    auto info = extract(input, d.path);
    CHECK(info.diff_id == want);
    CHECK(info.entries == 5);
    CHECK(info.size == 6 + 300000);
    CHECK(read(d / "etc/hostname") == "koker\n");
    CHECK(read(d / "bin/tool").size() == 300000);
    CHECK((lstat_of(d / "bin/tool").st_mode & 07777) == 0755);
    CHECK(lstat_of(d / "bin/hl").st_ino == lstat_of(d / "bin/tool").st_ino);
    CHECK(S_ISLNK(lstat_of(d / "etc/link").st_mode));
    CHECK(lstat_of(d / "etc/hostname").st_mtime == 1700000000);
  }
}

TEST("archive: the diff_id covers bytes after the end-of-archive marker") {
  std::string tar = make_tar({file("a", "1")}) + std::string(20480, '\0');
  TmpDir d;
  auto info = extract(compress(tar, "gzip"), d.path);
  CHECK(info.diff_id == digest::sha256(tar));
}

TEST("archive: the root entry and absolute names land inside dir") {
  TmpDir d;
  extract(make_tar({dir("./"), dir("/etc"), file("/etc/koker-pwned", "x"), file("//a/./b", "y")}),
          d.path);
  CHECK(read(d / "etc/koker-pwned") == "x");
  CHECK(read(d / "a/b") == "y");
  CHECK(!sys::exists("/etc/koker-pwned"));
}

TEST("archive: entries with .. are refused") {
  for (const char *name : {"../escape", "a/../../escape", "a/..", ".."}) {
    TmpDir d;
    std::string err = extract_error(make_tar({file(name, "x")}), d.path);
    CHECK(contains(err, "refusing path with .."));
    CHECK(contains(err, "unable to extract layer entry"));
  }
  CHECK(!sys::exists("/tmp/escape"));
}

TEST("archive: nothing is written through a symlink in the layer") {
  TmpDir out;
  for (const auto &target : {std::string("/"), std::string("../../../../../../../.."), out.path}) {
    TmpDir d;
    std::string err = extract_error(
        make_tar({sym("link", target), dir("link/etc"), file("link/etc/koker-pwned", "x")}),
        d.path);
    CHECK(!err.empty());
    CHECK(!sys::exists("/etc/koker-pwned"));
    CHECK(!sys::exists(out / "etc"));
    CHECK(S_ISLNK(lstat_of(d / "link").st_mode));
  }
  TmpDir d;
  std::string err = extract_error(
      make_tar({sym("a", "b"), sym("b", out.path + "/x/.."), file("a/koker-pwned", "x")}), d.path);
  CHECK(!err.empty());
  CHECK(sys::list_dir(out.path).empty());
}

TEST("archive: a symlink as the last component is replaced, not followed") {
  TmpDir out, d;
  sys::write_file_atomic(out / "victim", "old");
  extract(make_tar({sym("f", out / "victim"), file("f", "new")}), d.path);
  CHECK(read(out / "victim") == "old");
  CHECK(read(d / "f") == "new");
}

TEST("archive: hard links to host files are refused; absolute targets are normalised") {
  {
    TmpDir d;
    std::string err = extract_error(make_tar({hlink("pw", "/etc/passwd")}), d.path);
    CHECK(contains(err, "refusing hard link to /etc/passwd: no such file in the layer"));
    CHECK(!sys::exists(d / "pw"));
  }
  {
    TmpDir d;
    std::string err = extract_error(make_tar({file("x"), dir("a"), hlink("a/l", "../x")}), d.path);
    CHECK(contains(err, "refusing hard link to ../x: path with .."));
  }
  {
    // kaniko writes absolute hard link targets: they name the layer's own file.
    TmpDir d;
    extract(make_tar({dir("etc"), file("etc/passwd", "root:x:0:0"), hlink("pw", "/etc/passwd")}),
            d.path);
    CHECK(lstat_of(d / "pw").st_ino == lstat_of(d / "etc/passwd").st_ino);
    CHECK(lstat_of(d / "pw").st_ino != lstat_of("/etc/passwd").st_ino);
  }
  {
    // through a symlink in the layer to a host directory
    TmpDir d;
    std::string err =
        extract_error(make_tar({sym("evil", "/etc"), hlink("pw", "evil/passwd")}), d.path);
    CHECK(contains(err, "refusing hard link to evil/passwd: path goes through a symlink"));
    CHECK(!sys::exists(d / "pw"));
  }
  {
    TmpDir d;
    std::string err = extract_error(make_tar({dir("a"), hlink("l", "a")}), d.path);
    CHECK(contains(err, "refusing hard link to directory"));
  }
}

TEST("archive: whiteouts become char 0:0 devices") {
  TmpDir d;
  auto info = extract(make_tar({dir("a"), file("a/.wh.b", ""), file(".wh.top", "")}), d.path);
  struct stat st = lstat_of(d / "a/b");
  CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  CHECK(S_ISCHR(lstat_of(d / "top").st_mode));
  CHECK(!sys::exists(d / "a/.wh.b"));
  CHECK(info.entries == 3);
}

TEST("archive: a whiteout never hides a file of its own layer") {
  TmpDir d;
  extract(make_tar({dir("a"), file("a/b", "kept"), file("a/.wh.b", ""), file("a/.wh.c", ""),
                    file("a/c", "later")}),
          d.path);
  CHECK(read(d / "a/b") == "kept");
  CHECK(read(d / "a/c") == "later");
}

TEST("archive: invalid whiteouts and whiteouts through symlinks are refused") {
  for (const char *bad : {".wh..", "dir/.wh...", ".wh.", ".wh.x/y"}) {
    TmpDir d;
    CHECK(!extract_error(make_tar({dir("dir"), file(bad, "")}), d.path).empty());
  }
  TmpDir out, d;
  CHECK(!extract_error(make_tar({sym("l", out.path), file("l/.wh.x", "")}), d.path).empty());
  CHECK(sys::list_dir(out.path).empty());
  TmpDir d2;
  CHECK(
      !extract_error(make_tar({sym("l", out.path), file("l/.wh..wh..opq", "")}), d2.path).empty());
  CHECK(xattr(out.path, "trusted.overlay.opaque").empty());
}

TEST("archive: aufs metadata (.wh..wh.plnk) is skipped") {
  TmpDir d;
  extract(make_tar({dir(".wh..wh.plnk"), file(".wh..wh.plnk/1.2", "x"), file(".wh..wh.aufs", ""),
                    file("keep")}),
          d.path);
  CHECK(sys::list_dir(d.path) == std::vector<std::string>{"keep"});
}

TEST("archive: opaque markers set trusted.overlay.opaque, this layer's files stay") {
  if (::geteuid() != 0)
    return; // trusted.* xattrs need CAP_SYS_ADMIN
  TmpDir d;
  extract(make_tar({dir("d"), file("d/keep", "k"), file("d/.wh..wh..opq", ""),
                    file("e/.wh..wh..opq", "")}),
          d.path);
  CHECK(xattr(d / "d", "trusted.overlay.opaque") == "y");
  CHECK(read(d / "d/keep") == "k");
  CHECK(!sys::exists(d / "d/.wh..wh..opq"));
  CHECK(S_ISDIR(lstat_of(d / "e").st_mode)); // created though the layer has no entry for it
  CHECK(xattr(d / "e", "trusted.overlay.opaque") == "y");
}

TEST("archive: only user.* and security.capability xattrs are restored") {
  TmpDir d;
  Ent f = file("f", "x");
  f.xattrs = {{"trusted.overlay.opaque", "y"},
              {"trusted.overlay.redirect", "/etc"},
              {"security.selinux", "system_u:object_r:shadow_t:s0"},
              {"user.foo", "bar"}};
  Ent g = dir("g");
  g.xattrs = {{"trusted.overlay.opaque", "y"}};
  extract(make_tar({f, g}), d.path);
  CHECK(xattr(d / "f", "user.foo") == "bar");
  CHECK(xattr(d / "f", "trusted.overlay.opaque").empty());
  CHECK(xattr(d / "f", "trusted.overlay.redirect").empty());
  CHECK(xattr(d / "f", "security.selinux") != "system_u:object_r:shadow_t:s0");
  CHECK(xattr(d / "g", "trusted.overlay.opaque").empty());
}

TEST("archive: file capabilities survive the chown") {
  if (::geteuid() != 0)
    return;
  // VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE (bit 10) permitted, effective flag set.
  std::string cap(
      "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  Ent f = file("ping", "x", 0755);
  f.xattrs = {{"security.capability", cap}};
  TmpDir d;
  extract(make_tar({f}), d.path);
  CHECK(xattr(d / "ping", "security.capability") == cap);
}

TEST("archive: truncated and corrupt streams are errors") {
  std::string tar = make_tar({file("a", std::string(100000, 'a')), file("b", "b")});
  std::string gz = compress(tar, "gzip");
  {
    TmpDir d;
    std::string err = extract_error(gz.substr(0, gz.size() / 2), d.path);
    CHECK(contains(err, "unable to extract layer: "));
  }
  {
    TmpDir d;
    CHECK(!extract_error(gz.substr(0, gz.size() - 4), d.path).empty());
  }
  {
    TmpDir d;
    CHECK(!extract_error(tar.substr(0, 50000), d.path).empty());
  }
  {
    TmpDir d;
    std::string bad = tar;
    bad[148] ^= 0x55; // the header checksum no longer matches
    CHECK(contains(extract_error(bad, d.path), "unable to extract layer: "));
  }
  {
    TmpDir d;
    std::string garbage(4096, '\x7f');
    CHECK(contains(extract_error(garbage, d.path), "unable to extract layer: "));
  }
  {
    // no bytes at all is an empty layer, as Go's archive/tar reads it
    TmpDir d;
    auto info = extract("", d.path);
    CHECK(info.entries == 0 && info.diff_id == digest::sha256(""));
  }
  {
    TmpDir d;
    auto info = extract(compress(std::string(1024, '\0'), "gzip"), d.path);
    CHECK(info.entries == 0 && info.diff_id == digest::sha256(std::string(1024, '\0')));
  }
}

TEST("archive: byte and entry limits stop decompression bombs") {
  std::string tar = make_tar({file("zeros", std::string(10 << 20, '\0'))});
  std::string gz = compress(tar, "gzip");
  CHECK(gz.size() < 100000);
  TmpDir d;
  Limits l;
  l.max_bytes = 1 << 20;
  std::string err = extract_error(gz, d.path, l);
  CHECK(contains(err, "more than 1048576 uncompressed bytes"));
  CHECK(lstat_of(d / "zeros").st_blocks * 512 <= (2 << 20));

  std::vector<Ent> many;
  for (int i = 0; i < 20; ++i)
    many.push_back(file(cat("f", i), ""));
  TmpDir d2;
  Limits l2;
  l2.max_entries = 10;
  CHECK(contains(extract_error(make_tar(many), d2.path, l2), "more than 10 entries"));
  TmpDir d3;
  l2.max_entries = 20;
  CHECK(extract_error(make_tar(many), d3.path, l2).empty());
}

TEST("archive: Limits::from_env reads the environment and refuses bad values") {
  set_env("KOKER_MAX_LAYER_BYTES", "12345");
  set_env("KOKER_MAX_LAYER_ENTRIES", nullptr);
  auto l = Limits::from_env();
  CHECK(l.max_bytes == 12345);
  CHECK(l.max_entries == Limits{}.max_entries);
  set_env("KOKER_MAX_LAYER_ENTRIES", "1e6");
  bool threw = false;
  try {
    Limits::from_env();
  } catch (const Error &e) {
    threw = contains(e.what(), "KOKER_MAX_LAYER_ENTRIES");
  }
  CHECK(threw);
  set_env("KOKER_MAX_LAYER_BYTES", nullptr);
  set_env("KOKER_MAX_LAYER_ENTRIES", nullptr);
}

TEST("archive: device nodes are kept in layers, refused in plain tar files") {
  Ent mem;
  mem.name = "dev/mem";
  mem.type = AE_IFCHR;
  mem.rdev = makedev(1, 1);
  mem.perm = 0600;
  std::string tar = make_tar({dir("dev"), mem});
  if (::geteuid() == 0) {
    TmpDir d;
    extract(tar, d.path);
    struct stat st = lstat_of(d / "dev/mem");
    CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 1));
  }
  TmpDir d;
  Fd fd = mem_fd(tar);
  bool refused = false;
  try {
    archive::extract_tar(fd.get(), d.path, Limits{});
  } catch (const Error &e) {
    refused = contains(e.what(), "unable to extract archive entry dev/mem: refusing device node");
  }
  CHECK(refused);
}

TEST("archive: extract_tar strips setuid, skips xattrs and whiteout conversion") {
  Ent f = file("blobs/x", "x", 04755);
  f.xattrs = {{"user.foo", "bar"}};
  TmpDir d;
  Fd fd = mem_fd(make_tar({f, file(".wh.y", "")}));
  archive::extract_tar(fd.get(), d.path, Limits{});
  CHECK((lstat_of(d / "blobs/x").st_mode & 07777) == 0755);
  CHECK(xattr(d / "blobs/x", "user.foo").empty());
  CHECK(S_ISREG(lstat_of(d / ".wh.y").st_mode));
}

TEST("archive: setuid and sticky bits are kept in layers") {
  if (::geteuid() != 0)
    return;
  TmpDir d;
  extract(make_tar({file("su", "x", 04755), dir("sticky", 01777)}), d.path);
  CHECK((lstat_of(d / "su").st_mode & 07777) == 04755);
  CHECK((lstat_of(d / "sticky").st_mode & 07777) == 01777);
}

TEST("archive: a directory replaced by a symlink does not redirect its fixups") {
  TmpDir out, d;
  ::chmod(out.path.c_str(), 0755);
  std::string err =
      extract_error(make_tar({dir("d", 0555), sym("d", out.path), dir("e", 0500)}), d.path);
  (void)err; // either refused or extracted: the host directory must be untouched
  CHECK((lstat_of(out.path).st_mode & 07777) == 0755);
  CHECK(lstat_of(out.path).st_mtime != 1700000000);
}

TEST("archive: UTF-8 pax names extract under the C locale") {
  TmpDir d;
  extract(make_tar({file("caf\xc3\xa9.txt", "x"), file(std::string(150, 'n') + "/long", "y")}),
          d.path);
  CHECK(read(d / "caf\xc3\xa9.txt") == "x");
  CHECK(read(d / (std::string(150, 'n') + "/long")) == "y");
}

TEST("archive: a full disk is a clear error") {
  if (::geteuid() != 0)
    return;
  TmpDir d;
  std::string tar = make_tar({file("big", std::string(4 << 20, 'x'))});
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 2;
    if (::unshare(CLONE_NEWNS) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", d.path.c_str(), "tmpfs", 0, "size=1m") == 0) {
      std::string err = extract_error(tar, d.path);
      rc = contains(err, "No space left on device") && contains(err, "entry big") ? 0 : 1;
      if (rc)
        std::fprintf(stderr, "error was: %s\n", err.c_str());
    }
    ::_exit(rc);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST("archive: pack_dir writes a sorted, reproducible tar that unpacks to the same tree") {
  TmpDir src;
  sys::mkdir_p(src / "b/sub");
  sys::write_file_atomic(src / "b/sub/f", "content", 0640);
  sys::write_file_atomic(src / "a", "aaaa", 0755);
  sys::write_file_atomic(src / "c", std::string(3 << 20, 'c'));
  ::link((src / "a").c_str(), (src / "b/a-link").c_str());
  ::symlink("../a", (src / "b/sym").c_str());
  ::mkfifo((src / "fifo").c_str(), 0600);
  struct timeval tv[2] = {{1600000000, 0}, {1600000000, 0}};
  ::utimes((src / "b/sub/f").c_str(), tv);

  Fd out(::memfd_create("pack", MFD_CLOEXEC));
  auto info = archive::pack_dir(src.path, out.get());
  std::string tar = sys::read_file(cat("/proc/self/fd/", out.get()), 64 << 20);
  CHECK(info.diff_id == digest::sha256(tar));
  CHECK(info.entries == 8);
  CHECK(info.size == 4 + 7 + (3u << 20));
  std::vector<std::string> want = {"a",       "b/",    "b/a-link", "b/sub/",
                                   "b/sub/f", "b/sym", "c",        "fifo"};
  CHECK(list_names(tar) == want);

  Fd again(::memfd_create("pack", MFD_CLOEXEC));
  CHECK(archive::pack_dir(src.path, again.get()).diff_id == info.diff_id);

  TmpDir dst;
  ::lseek(out.get(), 0, SEEK_SET);
  auto back = archive::extract_layer(out.get(), dst.path, Limits{});
  CHECK(back.diff_id == info.diff_id);
  CHECK(read(dst / "b/sub/f") == "content");
  CHECK((lstat_of(dst / "b/sub/f").st_mode & 07777) == 0640);
  CHECK(lstat_of(dst / "b/sub/f").st_mtime == 1600000000);
  CHECK((lstat_of(dst / "a").st_mode & 07777) == 0755);
  CHECK(lstat_of(dst / "a").st_ino == lstat_of(dst / "b/a-link").st_ino);
  CHECK(S_ISFIFO(lstat_of(dst / "fifo").st_mode));
  char buf[16] = {};
  CHECK(::readlink((dst / "b/sym").c_str(), buf, sizeof buf - 1) == 4 &&
        std::string(buf) == "../a");
  CHECK(read(dst / "c").size() == (3u << 20));
}

TEST("archive: pack_dir keeps names that are not UTF-8") {
  TmpDir src, dst;
  sys::write_file_atomic(src / "latin1-\xe9", "x");
  Fd out(::memfd_create("pack", MFD_CLOEXEC));
  auto level = log::level();
  log::set_level(log::Level::quiet); // pax records the name as binary, with a warning
  archive::pack_dir(src.path, out.get());
  log::set_level(level);
  ::lseek(out.get(), 0, SEEK_SET);
  archive::extract_layer(out.get(), dst.path, Limits{});
  CHECK(read(dst / "latin1-\xe9") == "x");
}
