// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

// gzip decompression with Intel's ISA-L (igzip), 2 to 4 times zlib's speed: the pull inflates a
// gzip layer on the thread that downloads it, and the unpacker reads a plain tar (issue 21).
namespace koker::gunzip {

// Whether head starts a gzip member (its magic number, 1f 8b).
bool starts_gzip(std::string_view head);

// A gzip stream, fed as it arrives: one member or several in a row (as gzip and pigz write
// them), and whatever follows the last member (not a gzip header) is ignored, as libarchive
// and gzip(1) do. The output goes to out in blocks of up to 1 MiB.
class Stream {
public:
  using Out = std::function<void(const char *, size_t)>;
  // shown names the stream in messages ("layer sha256:...").
  Stream(std::string_view shown, Out out);
  ~Stream();
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  // Inflates n bytes; throws Error on a corrupt stream (bad header, data or CRC).
  void feed(const char *p, size_t n);
  // At the end of the input: flushes the output; throws Error if a member is unfinished.
  void finish();
  // Time spent inflating (in isal_inflate, not in out), in ns.
  uint64_t busy_ns() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace koker::gunzip
