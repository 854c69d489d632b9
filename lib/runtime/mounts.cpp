// SPDX-License-Identifier: MIT
#include "runtime/mounts.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace koker::mounts {

std::string flags_string(unsigned long f) {
  static const std::pair<unsigned long, const char *> names[] = {
      {MS_RDONLY, "ro"},       {MS_NOSUID, "nosuid"},         {MS_NODEV, "nodev"},
      {MS_NOEXEC, "noexec"},   {MS_REMOUNT, "remount"},       {MS_BIND, "bind"},
      {MS_REC, "rec"},         {MS_PRIVATE, "private"},       {MS_SLAVE, "slave"},
      {MS_SHARED, "shared"},   {MS_STRICTATIME, "strictatime"}, {MS_RELATIME, "relatime"},
      {MS_NOATIME, "noatime"}, {MS_MOVE, "move"}};
  std::string s;
  for (auto &[bit, name] : names)
    if (f & bit)
      s += cat(s.empty() ? "" : ",", name);
  return s;
}

namespace {
// The file a /proc/self/fd/N path names; any other path as it is.
std::string real_path(const std::string &path) {
  if (path.rfind("/proc/self/fd/", 0) != 0)
    return path;
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : path;
}

// A /proc/self/fd/N path as the trace shows it: the file it names, then how it is reached.
std::string shown(const std::string &path) {
  std::string real = real_path(path);
  return real == path ? path : cat(real, " (", path, ")");
}
} // namespace

void mount(const std::string &source, const std::string &target, const char *type,
           unsigned long flags, const std::string &data, const std::string &shown_data) {
  std::string opts = flags_string(flags);
  const std::string &traced = shown_data.empty() ? data : shown_data;
  if (!traced.empty())
    opts += cat(opts.empty() ? "" : ",", traced);
  if (log::debug_on())
    log::debug("mount", type ? cat(" -t ", type) : "", opts.empty() ? "" : cat(" -o ", opts), " ",
               source.empty() ? "none" : shown(source), " ", shown(target));
  if (::mount(source.c_str(), target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) <
      0) {
    // The real paths, not the /proc/self/fd/N they were reached through.
    int err = errno;
    std::string from = source.empty() ? (type ? type : "none") : real_path(source);
    std::string to = real_path(target);
    errno = err;
    sys_fail("unable to mount ", from, " on ", to);
  }
}

std::string fd_path(int fd) { return cat("/proc/self/fd/", fd); }

namespace {
std::string attr_names(uint64_t attrs) {
  const std::pair<uint64_t, const char *> names[] = {
      {MOUNT_ATTR_RDONLY, "RDONLY"},         {MOUNT_ATTR_NOSUID, "NOSUID"},
      {MOUNT_ATTR_NODEV, "NODEV"},           {MOUNT_ATTR_NOEXEC, "NOEXEC"},
      {MOUNT_ATTR__ATIME, "ATIME"},          {MOUNT_ATTR_NODIRATIME, "NODIRATIME"},
      {MOUNT_ATTR_NOSYMFOLLOW, "NOSYMFOLLOW"}};
  std::string out;
  for (const auto &[bit, name] : names)
    if ((attrs & bit) == bit)
      out += cat(out.empty() ? "" : "|", "MOUNT_ATTR_", name);
  return out.empty() ? "0" : out;
}
} // namespace

void set_attr_recursive(int fd, uint64_t set, uint64_t clear, std::string_view shown) {
  struct mount_attr attr {};
  attr.attr_set = set;
  attr.attr_clr = clear;
  log::debug("mount_setattr ", shown, " AT_RECURSIVE set ", attr_names(set), " clear ",
             attr_names(clear));
  if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    sys_fail("unable to set the attributes of ", shown, " and the mounts below it");
}

Fd open_in_root_if_exists(int root_fd, std::string_view path, Follow follow, int flags) {
  std::string rel(path);
  while (!rel.empty() && rel[0] == '/')
    rel.erase(0, 1);
  if (rel.empty())
    rel = ".";
  struct open_how how {};
  how.flags = static_cast<uint64_t>((flags ? flags : O_PATH) | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
                (follow == Follow::no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  if (fd >= 0)
    return Fd(static_cast<int>(fd));
  if (errno == ENOENT)
    return Fd();
  if (errno == ELOOP)
    fail("unable to open /", printable(rel), " in the container: a symlink is in the way");
  sys_fail("unable to open /", printable(rel), " in the container");
}

Fd open_in_root(int root_fd, std::string_view path, Follow follow, int flags) {
  Fd fd = open_in_root_if_exists(root_fd, path, follow, flags);
  if (!fd) {
    while (!path.empty() && path[0] == '/')
      path.remove_prefix(1);
    errno = ENOENT;
    sys_fail("unable to open /", printable(path.empty() ? "." : path), " in the container");
  }
  return fd;
}

namespace {
// "a/b/c" as its components, empty ones and "." dropped.
std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  for (auto &c : text::fields(path, '/'))
    if (c != ".")
      out.push_back(std::move(c));
  return out;
}
} // namespace

Fd make_dir_in_root(int root_fd, std::string_view path, Follow follow, unsigned mode) {
  // Usually there already: one openat2 then, with the same answer the walk below would give.
  if (Fd there = open_in_root_if_exists(root_fd, path, follow, O_PATH | O_DIRECTORY))
    return there;
  Fd dir = open_in_root(root_fd, "/", follow, O_PATH | O_DIRECTORY);
  std::string so_far;
  for (const auto &c : components(path)) {
    if (c == "..")
      fail("unable to create /", printable(path), " in the container: it holds ..");
    so_far += "/" + c;
    // mkdirat does not follow a symlink in its last component: an existing symlink makes it
    // fail with EEXIST and the open below decides whether the link may be followed.
    Fd parent = open_in_root(root_fd, sys::dirname(so_far), follow, O_DIRECTORY | O_RDONLY);
    if (::mkdirat(parent.get(), c.c_str(), mode) == 0)
      log::debug("mkdir ", so_far);
    else if (errno != EEXIST)
      sys_fail("unable to create ", so_far, " in the container");
    dir = open_in_root(root_fd, so_far, follow, O_PATH | O_DIRECTORY);
  }
  return dir;
}

Fd make_file_in_root(int root_fd, std::string_view path, unsigned mode) {
  auto parts = components(path);
  if (parts.empty())
    fail("unable to create a file at /");
  std::string name = parts.back();
  std::string parent_path;
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    parent_path += "/" + parts[i];
  Fd pdir = open_in_root_if_exists(root_fd, parent_path, Follow::in_root, O_DIRECTORY | O_RDONLY);
  if (!pdir) {
    make_dir_in_root(root_fd, parent_path, Follow::in_root);
    pdir = open_in_root(root_fd, parent_path, Follow::in_root, O_DIRECTORY | O_RDONLY);
  }
  struct stat st;
  bool regular = false;
  if (::fstatat(pdir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode))
      fail("unable to use ", printable(path), " in the container: it is a directory");
    regular = S_ISREG(st.st_mode);
    if (!regular) {
      // A symlink (or device, fifo) the image put here is replaced, never followed.
      log::debug("rm ", path, " (not a regular file in the image)");
      check(::unlinkat(pdir.get(), name.c_str(), 0), "unable to remove ", path,
            " in the container");
    }
  }
  if (!regular) {
    int fd = ::openat(pdir.get(), name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
      sys_fail("unable to create ", path, " in the container");
    ::close(fd);
  }
  // Relative to its directory, which was reached inside the root (an image's /etc may be a
  // symlink to another directory of it): the file itself is no symlink, as just made sure.
  int fd = ::openat(pdir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    sys_fail("unable to open ", path, " in the container");
  return Fd(fd);
}

void enter_private_namespace(std::string_view why) {
  log::debug("unshare(CLONE_NEWNS): ", why);
  check(::unshare(CLONE_NEWNS), "unable to unshare the mount namespace");
  log::debug("mount --make-rprivate /");
  check(::mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "unable to make / private");
}

void pivot_root(const std::string &new_root) {
  log::debug("chdir ", new_root);
  check(::chdir(new_root.c_str()), "unable to chdir to ", new_root);
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it then leaves
  // the new root alone, with no directory needed for the old one (pivot_root(2) NOTES).
  log::debug("pivot_root . .");
  check(::syscall(SYS_pivot_root, ".", "."), "unable to pivot_root to ", new_root);
  log::debug("mount --make-rslave / (old root); umount2 / MNT_DETACH");
  check(::mount("", ".", nullptr, MS_SLAVE | MS_REC, nullptr), "unable to make the old root rslave");
  check(::umount2(".", MNT_DETACH), "unable to detach the old root");
  check(::chdir("/"), "unable to chdir to /");
}

} // namespace koker::mounts
