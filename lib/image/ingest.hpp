// SPDX-License-Identifier: MIT
#pragma once
#include "image/image.hpp"
#include "store/store.hpp"
#include <functional>
#include <string>
#include <string_view>
#include <vector>

// The pull pipeline shared by every image source: fetch the config, unpack the layers the
// store lacks (in parallel, decompressing while the bytes arrive), verify everything, then
// register the image.
namespace koker::ingest {

using Sink = std::function<void(const char *, size_t)>;

// Where blobs come from: a registry, an OCI layout, an archive. Both calls verify size and
// digest and throw Error on a mismatch.
class Source {
public:
  virtual ~Source() = default;
  // Streams a blob to sink; sink sees each byte once, in order.
  virtual void stream_blob(const image::Descriptor &d, const Sink &sink) = 0;
  // Returns a small blob (at most max bytes).
  virtual std::string small_blob(const image::Descriptor &d, size_t max) = 0;
};

struct Manifest {
  std::string body;
  std::string media_type;
  std::string digest;
};

struct Names {
  std::vector<std::string> repo_tags;    // "alpine:latest"
  std::vector<std::string> repo_digests; // "alpine@sha256:..."
};

// Runs the pipeline for one image manifest; returns the image ID ("sha256:<config hex>").
// shown is the image as the command line named it, for messages. An image of more than
// image::max_layers layers is refused before anything is stored.
std::string pull_image(const store::Store &store, Source &source, const Manifest &manifest,
                       const Names &names, const image::Platform &want, std::string_view shown);

} // namespace koker::ingest
