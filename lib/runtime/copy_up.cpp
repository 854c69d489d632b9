// SPDX-License-Identifier: MIT
#include "runtime/copy_up.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/mounts.hpp"
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace koker::copy_up {

namespace {

// Deeper trees are refused: each level holds two descriptors.
constexpr int MAX_DEPTH = 128;

// Hard links seen inside the copied tree are kept at most this many at a time: each holds a
// descriptor until its last name is copied (a file linked from outside the volume's path
// holds it to the end). Past that, a further linked file is copied as a file of its own.
constexpr size_t MAX_OPEN_LINKS = 512;

struct DirCloser {
  void operator()(DIR *d) const { ::closedir(d); }
};

// The copies of files with several names, by the image's (device, inode): the next name of
// one becomes a hard link to its copy, as cp -a and docker's copy-up keep them.
struct Copied {
  Fd fd;        // the copy, open
  nlink_t left; // names not met yet
};
using Links = std::map<std::pair<dev_t, ino_t>, Copied>;

// The extended attributes a layer may carry (archive.cpp keeps only these): user.* and file
// capabilities. trusted.overlay.* would forge whiteouts and redirects on the volume, and
// security.selinux is the host's business.
bool copied_xattr(std::string_view name) {
  return name == "security.capability" || (text::starts_with(name, "user.") && name.size() > 5);
}

// Copies from's extended attributes (those copied_xattr allows) to to. After the chown:
// chown(2) clears security.capability. A volume on a file system without them loses them,
// with a warning, rather than failing the container.
void copy_xattrs(int from, int to, const std::string &shown) {
  ssize_t size = ::flistxattr(from, nullptr, 0);
  if (size <= 0)
    return;
  std::string names(static_cast<size_t>(size), '\0');
  size = ::flistxattr(from, names.data(), names.size());
  if (size < 0)
    sys_fail("unable to list the extended attributes of ", shown);
  names.resize(static_cast<size_t>(size));
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    if (!copied_xattr(name))
      continue;
    ssize_t n = ::fgetxattr(from, name.c_str(), nullptr, 0);
    std::string value(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n < 0 || (n = ::fgetxattr(from, name.c_str(), value.data(), value.size())) < 0)
      sys_fail("unable to read the attribute ", name, " of ", shown);
    value.resize(static_cast<size_t>(n));
    log::debug("setxattr ", shown, " ", name);
    if (::fsetxattr(to, name.c_str(), value.data(), value.size(), 0) == 0)
      continue;
    if (errno != ENOTSUP)
      sys_fail("unable to set the attribute ", name, " of ", shown);
    log::warn("the volume's file system takes no attribute ", name, ": ", shown, " goes without");
  }
}

// Owner, mode and times of the new entry name in dir, set on a descriptor of the entry, never
// by a path that could be followed (CVE-2021-32760): a container that shares the volume could
// swap the entry for a symlink to a host file meanwhile. fd, when open, is the entry's.
void copy_metadata(int dir, const std::string &name, int fd, const struct stat &st,
                   const std::string &shown) {
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (S_ISLNK(st.st_mode)) { // a symlink's own owner and times; it has no mode of its own
    check(::fchownat(dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW),
          "unable to set the owner of ", shown);
    check(::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW), "unable to set the times of ",
          shown);
    return;
  }
  Fd opened;
  if (fd < 0) { // a FIFO or device node: O_PATH opens it without opening the device
    opened = Fd(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat now;
    if (!opened || ::fstat(opened.get(), &now) < 0 ||
        (now.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
      fail("unable to set the owner of ", shown, ": it changed while being copied");
    fd = opened.get();
  }
  check(::fchownat(fd, "", st.st_uid, st.st_gid, AT_EMPTY_PATH), "unable to set the owner of ",
        shown);
  // after chown, which clears the setuid and setgid bits; through /proc/self/fd, which
  // reaches the inode itself (an O_PATH descriptor takes no fchmod)
  std::string self = mounts::fd_path(fd);
  check(::chmod(self.c_str(), st.st_mode & 07777), "unable to set the mode of ", shown);
  check(::utimensat(AT_FDCWD, self.c_str(), times, 0), "unable to set the times of ", shown);
}

void copy_file(int from, int to, const std::string &shown) {
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
    if (n == 0)
      return;
    if (n > 0)
      continue;
    if (errno == EINTR)
      continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      sys_fail("unable to copy ", shown);
    break;
  }
  // read/write: the file systems differ or copy_file_range does not apply
  sys::read_chunks(from, shown, [&](std::string_view chunk) { sys::write_fd(to, chunk, shown); });
}

// A listing of the directory open as dir, on a descriptor of its own (dir stays open).
std::unique_ptr<DIR, DirCloser> listing_of(int dir, const std::string &shown) {
  int listing = ::dup(dir);
  if (listing < 0)
    sys_fail("unable to read ", shown);
  std::unique_ptr<DIR, DirCloser> d(::fdopendir(listing));
  if (!d) {
    ::close(listing);
    sys_fail("unable to read ", shown);
  }
  return d;
}

// Copies what directory from holds into directory to. Every entry of the image is opened
// relative to its parent's fd with O_NOFOLLOW: nothing in the tree is ever followed.
void copy_tree(int from, int to, const std::string &shown, int depth, Links &links) {
  if (depth > MAX_DEPTH)
    fail("unable to copy ", shown, ": deeper than ", MAX_DEPTH, " directories");
  std::unique_ptr<DIR, DirCloser> d = listing_of(from, shown);
  while (struct dirent *e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    std::string path = shown + "/" + name;
    struct stat st;
    check(::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "unable to stat ", path);
    if (S_ISDIR(st.st_mode)) {
      check(::mkdirat(to, name.c_str(), 0700), "unable to create ", path);
      Fd src(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      Fd dst(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src || !dst)
        sys_fail("unable to open ", path);
      copy_tree(src.get(), dst.get(), path, depth + 1, links);
      copy_metadata(to, name, dst.get(), st, path);
      copy_xattrs(src.get(), dst.get(), path);
    } else if (S_ISREG(st.st_mode) && st.st_nlink > 1 && links.count({st.st_dev, st.st_ino})) {
      // Linked through /proc/self/fd (AT_SYMLINK_FOLLOW): the copy itself, never a path in
      // the volume that something could have swapped meanwhile, and no CAP_DAC_READ_SEARCH
      // as AT_EMPTY_PATH would need.
      auto it = links.find({st.st_dev, st.st_ino});
      log::debug("copy-up: ln ", path, " (a hard link, as in the image)");
      check(::linkat(AT_FDCWD, mounts::fd_path(it->second.fd.get()).c_str(), to, name.c_str(),
                     AT_SYMLINK_FOLLOW),
            "unable to link ", path);
      if (--it->second.left == 0)
        links.erase(it);
    } else if (S_ISREG(st.st_mode)) {
      // O_NONBLOCK: should the entry have become a FIFO meanwhile, open does not hang
      Fd src(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      struct stat now;
      if (!src || ::fstat(src.get(), &now) < 0 || !S_ISREG(now.st_mode))
        sys_fail("unable to open ", path);
      Fd dst(
          ::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!dst)
        sys_fail("unable to create ", path);
      copy_file(src.get(), dst.get(), path);
      copy_metadata(to, name, dst.get(), st, path);
      copy_xattrs(src.get(), dst.get(), path);
      if (st.st_nlink > 1 && links.size() < MAX_OPEN_LINKS)
        links[{st.st_dev, st.st_ino}] = Copied{std::move(dst), st.st_nlink - 1};
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size())
        sys_fail("unable to read the symlink ", path);
      target.resize(static_cast<size_t>(n));
      check(::symlinkat(target.c_str(), to, name.c_str()), "unable to create ", path);
      copy_metadata(to, name, -1, st, path);
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      check(::mknodat(to, name.c_str(), st.st_mode & (S_IFMT | 0700), st.st_rdev),
            "unable to create ", path);
      copy_metadata(to, name, -1, st, path);
    } else {
      log::debug("copy-up: skipping the socket ", path);
    }
  }
}

bool is_empty(int dir, const std::string &shown) {
  std::unique_ptr<DIR, DirCloser> d = listing_of(dir, shown);
  while (struct dirent *e = ::readdir(d.get()))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
      return false;
  return true;
}

} // namespace

bool fill_if_empty(int root_fd, std::string_view path, const std::string &dest) {
  // O_PATH first: opening a device node the image put there could do anything
  Fd where = mounts::open_in_root_if_exists(root_fd, path, mounts::Follow::in_root);
  struct stat st;
  if (!where || ::fstat(where.get(), &st) < 0 || !S_ISDIR(st.st_mode)) {
    log::debug("copy-up: ", path, " is no directory in the image");
    return false;
  }
  Fd src(::openat(where.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src)
    sys_fail("unable to open ", path, " in the container");
  Fd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst)
    sys_fail("unable to open ", dest);
  if (!is_empty(dst.get(), dest)) {
    log::debug("copy-up: ", dest, " is not empty: left as it is");
    return false;
  }
  log::debug("copy-up: cp -a <container>", path, "/. ", dest, " (resolved in the root)");
  Links links;
  copy_tree(src.get(), dst.get(), dest, 0, links);
  // the volume's root takes the owner and mode of the image's directory, as docker's does
  copy_metadata(AT_FDCWD, dest, dst.get(), st, dest);
  copy_xattrs(src.get(), dst.get(), dest);
  return true;
}

} // namespace koker::copy_up
