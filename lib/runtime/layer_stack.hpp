// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <vector>

// An image's layers as a reader of its files sees them, without mounting them: whether a path
// is there is decided by the topmost layer that holds it (a whiteout there hides it). What
// koker-diff and koker-commit ask of a container's image.
namespace koker::layer_stack {

class Stack {
public:
  // dirs: the layers' directories, top first; each opened O_PATH now (Error when missing).
  explicit Stack(const std::vector<std::string> &dirs);
  // Whether the image shows rel (relative to its root): resolved inside each layer without
  // following any symlink the image planted.
  bool shows(const std::string &rel) const;
  size_t size() const { return m_layers.size(); }

private:
  std::vector<Fd> m_layers;
};

} // namespace koker::layer_stack
