// SPDX-License-Identifier: MIT
#pragma once
#include "image/commit.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// A container's changes as a layer: its overlay upper directory packed as docker's overlay2
// diff (whiteouts, opaque directories), without the files koker itself put there. The one
// diff koker-commit and koker-build's RUN steps take.
namespace koker::container_diff {

// koker's own files in the upper layer, which are no change of the container's: the mount
// points it made where the image has none (/dev, /proc, /sys, the /etc files it binds, the
// --init binary), and their directories when nothing else is in them. Relative paths.
std::vector<std::string> runtime_artefacts(const store::Store &store,
                                           const store::ImageRecord &img,
                                           const std::string &upper);

// The container's changes stored as a layer (commit::store_layer): frozen while read when
// pause (a running container), every mtime clamped to clamp_mtime when set. The caller holds
// the store's pull lock. An empty layer (entries 0) is not kept.
commit::Layer store(const store::Store &store, const container::Record &rec,
                    const store::ImageRecord &img, std::optional<int64_t> clamp_mtime,
                    bool pause);

} // namespace koker::container_diff
