// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

// Recompression of layer blobs for `koker-push --compression`: the tar stream (and so the
// diff_id) stays the same, only its compression and the blob's digest change.
namespace koker::compress {

enum class Kind { none, gzip, zstd };

// "gzip", "zstd" or "none".
const char *name(Kind kind);
// The compression a layer media type declares: +gzip / .tar.gzip, +zstd, or none.
Kind of_media_type(std::string_view media_type);
// The layer media type for kind, in the OCI or the Docker v2s2 family (Docker has no zstd).
std::string layer_media_type(Kind kind, bool oci);

struct Result {
  std::string digest; // of what was written
  uint64_t size = 0;
};

// Reads in_fd (gzip, zstd or plain, told by its content), writes it compressed as kind to
// out_fd. gzip carries no timestamp or name, so the same input gives the same bytes. Throws
// Error naming what on a corrupt input or a write failure.
Result recompress(int in_fd, int out_fd, Kind kind, std::string_view what);

} // namespace koker::compress
