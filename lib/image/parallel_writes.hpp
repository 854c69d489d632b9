// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

struct archive;
struct archive_entry;

// A layer is one tar stream, but its regular files are independent: once an entry is parsed,
// its file can be written by another thread while the stream goes on (issue 21: a one-layer
// pull was bound by one thread's file creation). The unpacker queues regular files here and
// writes everything else itself, in stream order; before an entry that could touch a queued
// file (the same path, a path below it, a file replacing a directory with queued files) it
// waits for the queue (barrier), so the tree ends as a sequential unpack leaves it.
namespace koker::archive {

class ParallelWrites {
public:
  // workers threads, each with a disk writer from make_writer (called here, on the caller's
  // thread, so its umask and working directory are the caller's). what names the archive
  // in messages ("layer").
  ParallelWrites(size_t workers, const std::function<struct archive *()> &make_writer,
                 std::string what);
  // Stops the workers (dropping what is queued) and waits for them.
  ~ParallelWrites();
  ParallelWrites(const ParallelWrites &) = delete;
  ParallelWrites &operator=(const ParallelWrites &) = delete;

  // Whether writing path (relative to the layer, cleaned) now could race with a queued file:
  // the caller then calls barrier() first. dir: the entry is a directory.
  bool conflicts(const std::string &path, bool dir) const;
  // Queues the file entry e (cloned; its name already the one to write) with its content;
  // path is its cleaned name (for conflicts), shown its name in the archive (for messages).
  // Waits while too many bytes are queued. Throws the first failure of a worker.
  void submit(archive_entry *e, std::string data, const std::string &path, std::string shown);
  // Waits until every queued file is written; throws the first failure of a worker.
  void barrier();
  // Files larger than this are written by the caller (after a barrier if they conflict).
  static constexpr size_t max_file = size_t(4) << 20;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace koker::archive
