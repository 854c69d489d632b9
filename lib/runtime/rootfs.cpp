// SPDX-License-Identifier: MIT
#include "runtime/rootfs.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/mounts.hpp"
#include "runtime/userns.hpp"
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace koker::rootfs {

namespace {

// Docker's maskedPaths and readonlyPaths (moby oci/defaults.go).
const char *const masked_paths[] = {
    "/proc/asound",      "/proc/acpi",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",        "/sys/firmware",     "/sys/devices/virtual/powercap"};
const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

struct Node {
  const char *name;
  unsigned major, minor;
};
// runc's default devices, all 0666.
const Node device_nodes[] = {{"null", 1, 3},    {"zero", 1, 5},    {"full", 1, 7},
                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

constexpr unsigned long kernel_fs_flags = MS_NOSUID | MS_NOEXEC | MS_NODEV; // of read-only paths

// Host /dev/null, checked to be the real char 1:3 on the fd that will be used (runc
// CVE-2025-31133: a swapped /dev/null unmasks what it should hide).
Fd open_dev_null() {
  Fd fd(::open("/dev/null", O_PATH | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    fail("unable to mask paths: /dev/null on the host is not the null device");
  return fd;
}

} // namespace

void make_device_nodes(int root, bool bind_from_host) {
  // Opened now: an fd taken before /dev's mount would name the directory underneath it.
  Fd dev = mounts::open_in_root(root, "/dev", mounts::Follow::no_symlinks, O_DIRECTORY | O_RDONLY);
  ::umask(0);
  for (const auto &n : device_nodes) {
    if (bind_from_host) {
      Fd file(::openat(dev.get(), n.name, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0666));
      if (!file)
        sys_fail("unable to create /dev/", n.name);
      mounts::mount(cat("/dev/", n.name), mounts::fd_path(file.get()), nullptr, MS_BIND);
      continue;
    }
    log::debug("mknod /dev/", n.name, " c ", n.major, " ", n.minor);
    check(::mknodat(dev.get(), n.name, S_IFCHR | 0666, makedev(n.major, n.minor)),
          "unable to create /dev/", n.name);
  }
  const std::pair<const char *, const char *> links[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}};
  for (auto &[to, name] : links) {
    log::debug("ln -s ", to, " /dev/", name);
    check(::symlinkat(to, dev.get(), name), "unable to create /dev/", name);
  }
  if (sys::exists("/proc/kcore"))
    check(::symlinkat("/proc/kcore", dev.get(), "core"), "unable to create /dev/core");
  ::umask(022);
}

// Every directory of the overlay is named to overlayfs by a descriptor of this process, with
// the working directory at /proc/self/fd, where each descriptor is a link to its directory:
// "lowerdir=7:6:5,upperdir=8,workdir=9". Why: mount(2) copies one page of options, and store
// paths ("<64 hex>/diff" relative to layers/, ~70 bytes a layer) ran out at 53 layers. A
// descriptor's name takes 2 to 4 bytes, so docker's 128 layers (image::max_layers) need about
// 600 bytes, however long the store's path is. The other ways were worse: docker overlay2's
// short links (layers/l/<id> -> ../<hex>/diff) are state on disk to create at each commit,
// repair after a kill -9 and collect with their layer, and the new mount API's "lowerdir+"
// needs Linux 6.8. Descriptors work wherever overlayfs does, leave nothing behind, and cost
// an open and a close per directory, which the mount's own lookup of each path dwarfs.
namespace {

std::string lower_paths(const Overlay &o) {
  std::string lower;
  for (const auto &l : o.lower)
    lower += cat(lower.empty() ? "" : ":", o.layers_dir, '/', l);
  return lower;
}

// fuse-overlayfs (its own process, so paths rather than this process's descriptors): the
// rootless fallback. It needs /dev/fuse open to the user.
void mount_fuse_overlay(const Overlay &o, const std::string &lower) {
  std::string opts = cat("lowerdir=", lower, ",upperdir=", o.upper, ",workdir=", o.work);
  std::vector<std::string> argv{FUSE_OVERLAYFS, "-o", opts, o.mount_point};
  log::debug("rootless: ", text::join(argv, " "));
  if (::access(FUSE_OVERLAYFS, X_OK) < 0)
    fail("rootless: the kernel refused overlayfs in a user namespace and ", FUSE_OVERLAYFS,
         " is missing: install the fuse-overlayfs package");
  sys::Ran r = sys::run_program(FUSE_OVERLAYFS, argv);
  if (r.status != 0)
    fail("rootless: unable to mount the container's root with fuse-overlayfs: ",
         text::trim(r.err).empty() ? cat("exit status ", r.status) : std::string(text::trim(r.err)));
}

// KOKER_ROOTLESS_OVERLAY=fuse-overlayfs: the user's choice of fuse-overlayfs over the kernel's
// overlayfs (podman's mount_program in storage.conf), for kernels whose overlayfs misbehaves
// in a user namespace; anything else is the default, the kernel first.
bool fuse_chosen() {
  const char *v = ::getenv("KOKER_ROOTLESS_OVERLAY");
  return v && std::string_view(v) == "fuse-overlayfs";
}

} // namespace

std::string overlay_driver(const std::string &scratch) {
  if (!userns::inside())
    return "overlayfs";
  if (fuse_chosen())
    return "fuse-overlayfs (KOKER_ROOTLESS_OVERLAY)";
  // A probe: an empty overlay in a private temporary directory, mounted and unmounted.
  sys::mkdir_p(scratch, 0700);
  std::string t = cat(scratch, "/overlay-probe.", sys::random_hex(8));
  check(::mkdir(t.c_str(), 0700), "unable to make ", t);
  for (const char *d : {"/l", "/u", "/w", "/m"})
    sys::mkdir_p(t + d, 0700);
  std::string data =
      cat("lowerdir=", t, "/l,upperdir=", t, "/u,workdir=", t, "/w,redirect_dir=nofollow,userxattr");
  bool kernel = ::mount("overlay", (t + "/m").c_str(), "overlay", 0, data.c_str()) == 0;
  if (kernel)
    ::umount2((t + "/m").c_str(), MNT_DETACH);
  sys::rm_rf(t);
  log::debug("rootless: overlay probe (", data, "): ", kernel ? "the kernel's" : std::strerror(errno));
  return kernel ? "overlayfs (userxattr)" : "fuse-overlayfs";
}

Fd mount_overlay(const Overlay &o) {
  // overlayfs stacks at most 500 lower layers (OVL_MAX_STACK): say so before it says EINVAL.
  constexpr size_t overlay_max_stack = 500;
  if (o.lower.size() > overlay_max_stack)
    fail("unable to mount the container's root: ", o.lower.size(),
         " lower layers are more than overlayfs stacks (", overlay_max_stack, ")");
  std::vector<Fd> dirs; // open until the mount has resolved them, closed on every path out
  dirs.reserve(o.lower.size() + 2);
  auto open_dir = [&dirs](const std::string &path) {
    Fd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
      sys_fail("unable to open overlay directory ", path);
    dirs.push_back(std::move(fd));
    return std::to_string(dirs.back().get());
  };
  std::string lower, lower_names;
  for (const auto &l : o.lower) {
    lower += (lower.empty() ? "" : ":") + open_dir(cat(o.layers_dir, '/', l));
    lower_names += (lower_names.empty() ? "" : ":") + l;
  }
  // Opened here, not in cat()'s arguments, whose order of evaluation is unspecified.
  std::string upper = open_dir(o.upper);
  std::string work = open_dir(o.work);
  // redirect_dir=off,metacopy=off: a renamed directory or a chmod copies up whole, so the
  // upper directory alone is the container's complete diff (koker-commit, koker-diff).
  std::string data = cat("lowerdir=", lower, ",upperdir=", upper, ",workdir=", work,
                         ",redirect_dir=off,metacopy=off");
  // A --rm container's upper layer is thrown away: "volatile" skips the sync of it on unmount
  // (overlayfs docs), which otherwise waits for a journal commit at every exit.
  // The trace names the directories, as a reader would write the mount by hand.
  std::string shown = cat("lowerdir=", lower_names, ",upperdir=", o.upper, ",workdir=", o.work,
                          ",redirect_dir=off,metacopy=off");
  unsigned long flags = o.read_only ? MS_RDONLY : 0;
  if (!o.read_only && o.volatile_upper) {
    data += ",volatile";
    shown += ",volatile";
  }
  // The options and their NUL must fit in one page: 4 KiB, the smallest there is.
  constexpr size_t max_mount_data = 4095;
  if (data.size() > max_mount_data)
    fail("unable to mount the container's root: ", o.lower.size(),
         " lower layers are too many for one overlay mount (", data.size(),
         " bytes of options, at most ", max_mount_data, ")");
  log::debug("chdir /proc/self/fd: the overlay's ", o.lower.size() + 2, " directories (lower ",
             "layers under ", o.layers_dir, ") go to the mount as descriptors: ", data);
  // koker-run's own working directory comes back after: its relative paths (--cidfile) name
  // files there.
  Fd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  check(::chdir("/proc/self/fd"), "unable to chdir to /proc/self/fd");
  bool fuse = false;
  try {
    if (userns::inside()) {
      // The rootless store's marks are user.overlay.* (image/overlay_marks.hpp): userxattr,
      // which the kernel allows in a user namespace since 5.11. Where it refuses, the same
      // layers through fuse-overlayfs.
      // userxattr refuses to follow redirects (a user could forge them): nofollow rather
      // than off, which still follows them.
      for (std::string *opts : {&data, &shown}) {
        opts->replace(opts->find(",redirect_dir=off"), 17, ",redirect_dir=nofollow");
        *opts += ",userxattr";
      }
      if (fuse_chosen()) {
        log::debug("rootless: KOKER_ROOTLESS_OVERLAY=fuse-overlayfs");
        fuse = true;
      } else {
        log::debug("rootless: mount -t overlay -o ", shown, " overlay ", o.mount_point);
        if (::mount("overlay", o.mount_point.c_str(), "overlay", flags, data.c_str()) < 0) {
          log::debug("rootless: the kernel refused overlayfs here (", std::strerror(errno),
                     "): trying fuse-overlayfs");
          fuse = true;
        }
      }
    } else {
      mounts::mount("overlay", o.mount_point, "overlay", flags, data, shown);
    }
  } catch (...) {
    if (cwd)
      ::fchdir(cwd.get());
    throw;
  }
  check(cwd ? ::fchdir(cwd.get()) : ::chdir("/"), "unable to return to the working directory");
  if (fuse)
    mount_fuse_overlay(o, lower_paths(o));
  Fd root(::open(o.mount_point.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root)
    sys_fail("unable to open ", o.mount_point);
  return root;
}

std::vector<std::string> default_masked_paths() {
  return {std::begin(masked_paths), std::end(masked_paths)};
}

std::vector<std::string> default_readonly_paths() {
  return {std::begin(readonly_paths), std::end(readonly_paths)};
}

void mask_paths(int root, const std::vector<std::string> &masked,
                const std::vector<std::string> &readonly) {
  Fd null = open_dev_null();
  int dev_null = null.get();
  // One empty read-only tmpfs hides every masked directory: the first gets it, the others
  // a bind of it (its superblock is read-only, so every bind is too). A superblock less for
  // each to set up and tear down.
  Fd empty;
  for (const auto &path : masked) {
    Fd target = mounts::open_in_root_if_exists(root, path, mounts::Follow::no_symlinks);
    if (!target)
      continue; // the kernel has no such file: nothing to hide
    struct stat st;
    check(::fstat(target.get(), &st), "unable to stat ", path);
    if (!S_ISDIR(st.st_mode)) {
      mounts::mount(mounts::fd_path(dev_null), mounts::fd_path(target.get()), nullptr, MS_BIND);
    } else if (empty) {
      mounts::mount(mounts::fd_path(empty.get()), mounts::fd_path(target.get()), nullptr, MS_BIND);
    } else {
      mounts::mount("tmpfs", mounts::fd_path(target.get()), "tmpfs", MS_RDONLY,
                "nr_blocks=1,nr_inodes=1");
      empty = mounts::open_in_root(root, path, mounts::Follow::no_symlinks); // the tmpfs, now
    }
  }
  for (const auto &path : readonly) {
    Fd target = mounts::open_in_root_if_exists(root, path, mounts::Follow::no_symlinks);
    if (!target)
      continue;
    std::string at = mounts::fd_path(target.get());
    mounts::mount(at, at, nullptr, MS_BIND | MS_REC);
    Fd again = mounts::open_in_root(root, path, mounts::Follow::no_symlinks);
    mounts::mount("", mounts::fd_path(again.get()), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | kernel_fs_flags);
  }
}

} // namespace koker::rootfs
