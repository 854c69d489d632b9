// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <vector>

// The container's root file system: the overlay of the image's layers (koker-run mounts it
// on the bundle's rootfs/), then, inside the container's new mount namespace, /dev's nodes and
// the masked and read-only paths. Every target is opened inside the root
// (runtime/mounts.hpp), never through a path an image could redirect.
namespace koker::rootfs {

// The overlay: the image's layers (lower, top first, relative to layers_dir), upper and work.
struct Overlay {
  std::string mount_point; // a directory to mount it on
  std::string layers_dir;  // the store's layers/
  std::vector<std::string> lower;
  std::string upper, work;
  bool volatile_upper = false; // --rm: the upper layer is never reused
  // Mounted read-only, never volatile (a look into a new container's root before it runs,
  // container_root::in_private_mount): nothing is written to the upper and work directories,
  // and the container's own mount after it is not refused for a volatile one before it.
  bool read_only = false;
};

// Mounts the overlay on its mount point; returns an O_PATH fd of the new root. Its directories
// reach overlayfs as descriptor numbers, so the options fit in one page for any store path and
// up to overlayfs's 500 layers.
// Rootless (runtime/userns.hpp): overlayfs with userxattr, else fuse-overlayfs.
Fd mount_overlay(const Overlay &o);
// How mount_overlay mounts roots here, for -D and koker-system info: "overlayfs" (root),
// "overlayfs (userxattr)" or "fuse-overlayfs" (rootless: a probe mount in a directory made and
// removed under scratch, on the store's file system, decides).
std::string overlay_driver(const std::string &scratch);
constexpr const char *FUSE_OVERLAYFS = "/usr/bin/fuse-overlayfs";
// Docker's masked paths (hidden under an empty read-only tmpfs, or the host's verified
// /dev/null for files) and read-only paths (moby oci/defaults.go), for koker-run's configs.
std::vector<std::string> default_masked_paths();
std::vector<std::string> default_readonly_paths();
// Hides the masked paths and makes the read-only ones so (an OCI config's maskedPaths and
// readonlyPaths).
void mask_paths(int root, const std::vector<std::string> &masked,
                const std::vector<std::string> &readonly);
// runc's default device nodes (null, zero, full, random, urandom, tty, all 0666) and the links
// fd, stdin, stdout, stderr, ptmx and core in root's /dev, which must be a fresh tmpfs. In a
// new user namespace, where mknod(2) is refused, bind_from_host binds the host's nodes onto
// empty files instead (runc's way).
void make_device_nodes(int root, bool bind_from_host = false);

} // namespace koker::rootfs
