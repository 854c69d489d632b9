// SPDX-License-Identifier: MIT
#include "image/compress.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <archive.h>
#include <archive_entry.h>
#include <memory>
#include <vector>

namespace koker::compress {
namespace {

struct ReadFree {
  void operator()(archive *a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive *a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry *e) const { archive_entry_free(e); }
};

// Where the compressed bytes go: the file, and the hash of what it holds.
struct Sink {
  int fd;
  digest::Sha256 hash;
  uint64_t bytes = 0;
  std::string error;
};

la_ssize_t write_out(archive *, void *user, const void *buf, size_t n) {
  auto *s = static_cast<Sink *>(user);
  try {
    sys::write_fd(s->fd, std::string_view(static_cast<const char *>(buf), n), "layer blob");
  } catch (const Error &e) {
    s->error = e.what();
    return -1;
  }
  s->hash.update(buf, n);
  s->bytes += n;
  return static_cast<la_ssize_t>(n);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string describe(archive *a) {
  const char *s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

} // namespace

const char *name(Kind kind) {
  switch (kind) {
  case Kind::gzip:
    return "gzip";
  case Kind::zstd:
    return "zstd";
  default:
    return "none";
  }
}

Kind of_media_type(std::string_view mt) {
  if (ends_with(mt, "+gzip") || ends_with(mt, ".tar.gzip"))
    return Kind::gzip;
  if (ends_with(mt, "+zstd"))
    return Kind::zstd;
  return Kind::none;
}

std::string layer_media_type(Kind kind, bool oci) {
  if (!oci)
    return kind == Kind::gzip ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                              : "application/vnd.docker.image.rootfs.diff.tar";
  std::string base = "application/vnd.oci.image.layer.v1.tar";
  return kind == Kind::none ? base : cat(base, "+", name(kind));
}

Result recompress(int in_fd, int out_fd, Kind kind, std::string_view what) {
  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  std::unique_ptr<archive, WriteFree> out(archive_write_new());
  if (!in || !out)
    fail("unable to recompress ", what, ": out of memory");
  // The "raw" format: the decompressed stream as one entry, not read as a tar.
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_zstd(in.get());
  archive_read_support_filter_none(in.get());
  archive_read_support_format_raw(in.get());
  if (archive_read_open_fd(in.get(), in_fd, 1 << 20) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ", describe(in.get()));
  archive_entry *ignored = nullptr;
  if (archive_read_next_header(in.get(), &ignored) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ", describe(in.get()));

  Sink sink{out_fd, digest::Sha256(), 0, ""};
  int rc = kind == Kind::gzip   ? archive_write_add_filter_gzip(out.get())
           : kind == Kind::zstd ? archive_write_add_filter_zstd(out.get())
                                : archive_write_add_filter_none(out.get());
  if (rc != ARCHIVE_OK || archive_write_set_format_raw(out.get()) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ", describe(out.get()));
  // No timestamp in the gzip header: the same layer compresses to the same blob.
  if (kind == Kind::gzip)
    archive_write_set_filter_option(out.get(), "gzip", "timestamp", nullptr);
  archive_write_set_bytes_per_block(out.get(), 1 << 16);
  archive_write_set_bytes_in_last_block(out.get(), 1);
  if (archive_write_open(out.get(), &sink, nullptr, write_out, nullptr) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ", describe(out.get()));
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_pathname(entry.get(), "layer.tar");
  if (archive_write_header(out.get(), entry.get()) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ", describe(out.get()));

  std::vector<char> buf(1 << 20);
  for (;;) {
    la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
    if (n < 0)
      fail("unable to recompress ", what, ": ", describe(in.get()));
    if (n == 0)
      break;
    if (archive_write_data(out.get(), buf.data(), static_cast<size_t>(n)) != n)
      fail("unable to recompress ", what, ": ",
           sink.error.empty() ? describe(out.get()) : sink.error);
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK)
    fail("unable to recompress ", what, ": ",
         sink.error.empty() ? describe(out.get()) : sink.error);
  Result r{sink.hash.finish(), sink.bytes};
  log::debug("recompressed ", what, " as ", name(kind), ": ", r.digest, ", ", r.size, " bytes");
  return r;
}

} // namespace koker::compress
