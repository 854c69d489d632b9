// SPDX-License-Identifier: MIT
#pragma once
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

// The name of the xattr that makes a directory hide what the layers below it hold.
constexpr const char *OPAQUE_XATTR = "trusted.overlay.opaque";

// A directory (open as fd) that replaced one of the layers below: trusted.overlay.opaque=y.
inline bool is_opaque(int fd) {
  char v = 0;
  return ::fgetxattr(fd, OPAQUE_XATTR, &v, 1) == 1 && v == 'y';
}

} // namespace koker::overlay_marks
