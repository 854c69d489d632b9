// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <vector>

// The container's root file system, built by its first process inside its new mount
// namespace before pivot_root: the overlay of the image's layers, the kernel file systems,
// /dev, koker's /etc files, the volumes, and the masked and read-only paths. Every target is
// opened inside the root (runtime/mounts.hpp), never through a path an image could redirect.
namespace koker::rootfs {

struct Volume {
  std::string source; // host path (exists)
  std::string target; // absolute path in the container, not "/"
  bool read_only = false;
};

// The overlay: the image's layers (lower, top first, relative to layers_dir), upper and work.
struct Overlay {
  std::string mount_point; // a directory to mount it on (in the new namespace)
  std::string layers_dir;  // the store's layers/
  std::vector<std::string> lower;
  std::string upper, work;
  bool volatile_upper = false; // --rm: the upper layer is never reused
};

// Mounts the overlay on its mount point; returns an O_PATH fd of the new root. Its directories
// reach overlayfs as descriptor numbers, so the options fit in one page for any store path and
// up to overlayfs's 500 layers; leaves the working directory at /.
Fd mount_overlay(const Overlay &o);
// Mounts a kernel file system (proc, sysfs, tmpfs, ...) onto the directory path inside root,
// which must be a real directory: never a symlink for /proc, /sys, /dev (CVE-2019-16884 and
// friends).
void mount_kernel_fs(int root, const char *path, const char *type, unsigned long flags,
                     const std::string &data);
// /proc, then /dev (a tmpfs with runc's device nodes and links, devpts, shm, mqueue), then
// /sys read-only.
void mount_kernel_files(int root);
// /etc/hostname, /etc/hosts, /etc/resolv.conf from etc_dir, bound over whatever the image
// has there; an image's symlink in their place is replaced, never followed.
void bind_etc_files(int root, const std::string &etc_dir);
// Bind mounts the volumes (recursively; read-only ones with every submount read-only).
// Targets under /proc are refused.
void bind_volumes(int root, const std::vector<Volume> &volumes);
// Docker's masked paths (an empty read-only tmpfs over directories, the host's verified
// /dev/null over files) and read-only paths.
void mask_paths(int root);
// The same for the paths given (an OCI config's maskedPaths and readonlyPaths).
void mask_paths(int root, const std::vector<std::string> &masked,
                const std::vector<std::string> &readonly);
// runc's default device nodes (null, zero, full, random, urandom, tty, all 0666) and the links
// fd, stdin, stdout, stderr, ptmx and core in root's /dev, which must be a fresh tmpfs. In a
// new user namespace, where mknod(2) is refused, bind_from_host binds the host's nodes onto
// empty files instead (runc's way).
void make_device_nodes(int root, bool bind_from_host = false);

} // namespace koker::rootfs
