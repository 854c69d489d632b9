// SPDX-License-Identifier: MIT
#pragma once
#include "base/rootless.hpp"
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

// How overlayfs marks deletions in an upper directory (Documentation/filesystems/overlayfs):
// what koker-diff reads, koker-commit packs as docker's .wh. files, and the unpacker writes
// back. One definition, so the three agree.
namespace koker::overlay_marks {

// A deleted file: a character device 0/0 of the same name.
inline bool is_whiteout(const struct stat &st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

// The name of the xattr that makes a directory hide what the layers below it hold:
// trusted.overlay.opaque for root; a rootless store is unpacked and mounted in a user
// namespace, where trusted.* cannot be written, so its overlays use the userxattr option
// (Linux 5.11) and user.overlay.opaque, which fuse-overlayfs reads too.
constexpr const char *OPAQUE_XATTR_ROOT = "trusted.overlay.opaque";
constexpr const char *OPAQUE_XATTR_USER = "user.overlay.opaque";
inline const char *opaque_xattr() {
  return rootless::active() ? OPAQUE_XATTR_USER : OPAQUE_XATTR_ROOT;
}
// The xattrs overlayfs with userxattr reads as its own (whiteouts, redirects, opaque marks):
// a layer's user.* xattrs never carry them, or an image could forge them.
constexpr const char *USER_OVERLAY_PREFIX = "user.overlay.";

// A directory (open as fd) that replaced one of the layers below: opaque_xattr() = y.
inline bool is_opaque(int fd) {
  char v = 0;
  return ::fgetxattr(fd, opaque_xattr(), &v, 1) == 1 && v == 'y';
}

} // namespace koker::overlay_marks
