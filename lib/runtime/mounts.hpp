// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <cstdint>
#include <string>
#include <string_view>

// Mounts and root switching for a container's own mount namespace. Every target inside the
// container's root is opened relative to the root's fd (openat2 RESOLVE_IN_ROOT), then mounted
// through /proc/self/fd/N, so a symlink the image planted can never redirect a mount to a host
// path (CVE-2021-30465, CVE-2024-45310); each call is logged at debug level before it runs.
namespace koker::mounts {

// mount(2), logged as "mount -t TYPE -o FLAGS,DATA SOURCE TARGET"; throws on failure.
// shown_data, when given, is what the trace shows in place of data (the overlay's directories
// by name where data names them by descriptor).
void mount(const std::string &source, const std::string &target, const char *type,
           unsigned long flags, const std::string &data = "", const std::string &shown_data = "");
// The mount flags as mount(8) options ("ro,nosuid,bind").
std::string flags_string(unsigned long flags);

enum class Follow { no_symlinks, in_root };
// Opens path inside the root directory root_fd with O_PATH (or flags when given). With
// Follow::in_root symlinks are resolved as if root_fd were "/" (they cannot leave it); with
// Follow::no_symlinks any symlink is refused.
Fd open_in_root(int root_fd, std::string_view path, Follow follow, int flags = 0);
// The same, but an empty Fd when path does not exist (no exception for the expected case).
Fd open_in_root_if_exists(int root_fd, std::string_view path, Follow follow, int flags = 0);
// Creates the directory path and its parents inside the root (mkdirat relative to each parent
// fd, never through a symlink of no_symlinks mode) and returns an O_PATH fd of it.
Fd make_dir_in_root(int root_fd, std::string_view path, Follow follow, unsigned mode = 0755);
// Makes path a regular file inside the root: a symlink or other non-directory in the way is
// replaced (in the container's upper layer), a missing one created; its directory may be
// reached through symlinks inside the root. Returns an O_PATH fd.
Fd make_file_in_root(int root_fd, std::string_view path, unsigned mode = 0644);
// Sets and clears MOUNT_ATTR_* on the mount at fd and every mount below it (mount_setattr(2),
// AT_RECURSIVE): runc's "rro", "rnosuid", ... A plain MS_REMOUNT would leave submounts as
// they were.
void set_attr_recursive(int fd, uint64_t set, uint64_t clear, std::string_view shown);
// "/proc/self/fd/N": the path that mounts onto (or from) an opened fd.
std::string fd_path(int fd);

// Switches the root to new_root: pivot_root(".", "."), old root made rslave and detached
// (runc's way, pivot_root(2) NOTES), chdir("/").
void pivot_root(const std::string &new_root);

// Moves this process into a mount namespace of its own, every mount private: what it mounts
// from now on is seen by no other process and goes away with it, even after a kill -9. why
// says what for, in the trace. The process must have one thread (unshare(2)).
void enter_private_namespace(std::string_view why);

} // namespace koker::mounts
