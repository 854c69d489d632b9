// SPDX-License-Identifier: MIT
#include "runtime/layer_stack.hpp"
#include "base/error.hpp"
#include "image/overlay_marks.hpp"
#include "runtime/mounts.hpp"
#include <fcntl.h>
#include <sys/stat.h>

namespace koker::layer_stack {

Stack::Stack(const std::vector<std::string> &dirs) {
  for (const auto &path : dirs) {
    Fd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
      sys_fail("unable to open layer ", path);
    m_layers.push_back(std::move(fd));
  }
}

bool Stack::shows(const std::string &rel) const {
  for (const auto &layer : m_layers) {
    Fd fd;
    try {
      fd = mounts::open_in_root_if_exists(layer.get(), rel, mounts::Follow::no_symlinks,
                                          O_PATH | O_NOFOLLOW);
    } catch (const Error &) {
      return false; // through a symlink or a non-directory: not a path the image has
    }
    if (!fd)
      continue;
    struct stat st;
    return ::fstat(fd.get(), &st) == 0 && !overlay_marks::is_whiteout(st);
  }
  return false;
}

} // namespace koker::layer_stack
