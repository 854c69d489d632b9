// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "image/commit.hpp"
#include "store/store.hpp"
#include <cstdint>
#include <optional>
#include <string>

// Where COPY, ADD and WORKDIR change an image's files without a container: the image's layers
// mounted as an overlay on a private directory under the store's tmp/ (in the builder's own
// mount namespace: a kill -9 leaves no mount, and the next store user wipes tmp/), the
// changes landing in its upper directory, which becomes the step's layer as a container's
// would (commit::store_layer). An image with no layers (FROM scratch) has no overlay: the
// upper directory is its root.
namespace koker::build_workspace {

class Workspace {
public:
  Workspace(const store::Store &store, const store::ImageRecord &img);
  ~Workspace();
  Workspace(const Workspace &) = delete;
  Workspace &operator=(const Workspace &) = delete;
  // The image's root as the step sees it, opened (O_DIRECTORY), for container_root::fork_in_root.
  int root_fd() const { return m_root.get(); }
  // Its path, for reading (COPY --from's sources): the overlay's mount point, or upper/.
  const std::string &root_path() const { return m_root_path; }
  // The changes as a layer in the store (empty: entries 0, nothing kept); unmounts first.
  commit::Layer store_layer(std::optional<int64_t> clamp_mtime);

private:
  const store::Store &m_store;
  std::string m_dir, m_merged, m_root_path;
  bool m_mounted = false;
  Fd m_root;
};

} // namespace koker::build_workspace
