// SPDX-License-Identifier: MIT
#pragma once
#include "image/compress.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"
#include <cstdint>
#include <optional>
#include <string>

// The push pipeline (koker-push): an image of the store to a registry repository by the
// distribution spec, its blobs as stored (or recompressed once and cached), then its manifest.
namespace koker::push {

struct Pushed {
  std::string digest; // of the manifest pushed
  uint64_t size = 0;  // its bytes
};

// Pushes rec to target (a reference with a tag). Layers first (in parallel, each HEADed
// first, mounted from another repository of the same registry when the store knows one
// holds it, else uploaded), then the config, then the manifest under the tag. With
// compression, layers compressed otherwise are recompressed (cached in the store) and a new
// manifest is written; without, the stored manifest is sent byte for byte. shown names the
// image in messages. Throws Error; the store is unchanged but for the cached blobs.
Pushed push_image(const store::Store &store, const store::ImageRecord &rec,
                  const registry::Reference &target, std::optional<compress::Kind> compression,
                  std::string_view shown);

} // namespace koker::push
