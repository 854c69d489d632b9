// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <functional>
#include <sys/types.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::archive {

// Caps on what one layer may unpack to (docs/security.md "Unpacking layers" rule 7:
// libarchive has none of its own).
struct Limits {
  uint64_t max_bytes = uint64_t(64) << 30; // uncompressed tar bytes
  uint64_t max_entries = 10'000'000;
  // Reads KOKER_MAX_LAYER_BYTES / KOKER_MAX_LAYER_ENTRIES when set (tests use small caps).
  static Limits from_env();
};

struct LayerInfo {
  std::string diff_id; // "sha256:<hex>" of the uncompressed tar stream
  uint64_t size = 0;   // bytes of file content unpacked
  uint64_t entries = 0;
  uint64_t input_wait_ns = 0; // time spent in read(2) of the input (waiting for its writer)
};

// Unpacks a layer (tar, plain, gzip or zstd: nothing else, no external programs) read from
// fd into dir, an empty private directory the caller made. Entry names are normalised (a
// leading '/' stripped, "." removed); any ".." is refused; nothing is written outside dir,
// whatever symlinks or hard links the layer holds. Whiteouts become overlayfs whiteouts (char
// 0:0) and ".wh..wh..opq" sets trusted.overlay.opaque=y; only security.capability and user.*
// xattrs are kept. Reads fd to its end, hashing the uncompressed stream. Throws Error on a
// corrupt, truncated or hostile archive (ARCHIVE_WARN counts as an error) or past limits.
LayerInfo extract_layer(int fd, const std::string &dir, const Limits &limits);

// Unpacks a plain tar archive (an oci-archive or docker-archive file) into dir with the same
// path rules, but no whiteout conversion and no xattrs.
void extract_tar(int fd, const std::string &dir, const Limits &limits);

// Writes dir as an uncompressed tar layer to fd (for `dir:` imports), entries sorted by name,
// numeric owners kept, no xattrs other than security.capability. Returns its diff_id and size.
LayerInfo pack_dir(const std::string &dir, int fd);

// koker-commit: an overlay upper directory as a layer. As pack_dir, and: a whiteout (char
// 0:0) becomes a 0600 file ".wh.NAME"; an opaque directory (trusted.overlay.opaque=y) its
// entry then "DIR/.wh..wh..opq" (docker's overlay2 diff); the paths in skip (koker's runtime
// artefacts, relative) are left out with all below them; with clamp_mtime every mtime later
// than it becomes it, in whole seconds (SOURCE_DATE_EPOCH).
struct UpperOptions {
  std::vector<std::string> skip;
  std::optional<int64_t> clamp_mtime;
  int also_fd = -1; // the same bytes are also written there (the layer's blob file)
};
LayerInfo pack_upper(const std::string &upper, int fd, const UpperOptions &options);

// koker-cp's tar streams. pack_path writes path (a file, a symlink itself, or a directory and
// all below it; with follow the target of a symlink) to fd as a plain tar whose first entry is
// named top; top "" packs a directory's contents only (docker's "SRC/."). extract_copy unpacks
// one as extract_tar does (no device nodes, no setuid bits), the entry rebase.from and all
// below it landing as rebase.to (docker's RebaseArchiveEntries), numeric owners kept only
// with keep_owners (cp -a), else the files belong to the caller.
void pack_path(const std::string &path, const std::string &top, bool follow, int fd);
// koker-build's COPY and ADD: pack_path with every entry owned by uid:gid (when set: COPY
// --from without --chown keeps the owners), its permission bits replaced by chmod when set, and the entries skip names (by their name in the stream:
// top, "top/sub", or "sub" for top "") left out with all below them (.dockerignore).
struct CopyOptions {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<mode_t> chmod;
  std::function<bool(const std::string &)> skip;
  // For a skipped directory: whether what is below it is still walked (an exception of
  // .dockerignore may re-include a file there); its own entry stays out.
  std::function<bool(const std::string &)> descend;
};
void pack_path(const std::string &path, const std::string &top, bool follow, int fd,
               const CopyOptions &options);
struct Rebase {
  std::string from, to;
};
void extract_copy(int fd, const std::string &dir, const Limits &limits, const Rebase &rebase,
                  bool keep_owners);
// koker-build's ADD of a local archive: a tar, plain or compressed with gzip, bzip2, xz or
// zstd (told by its content), unpacked into dir as extract_copy does with owners kept.
void extract_added(int fd, const std::string &dir, const Limits &limits);
// Whether the first bytes of a file (at least 512 of them, or all it has) start an archive
// ADD unpacks: a compression's magic number, or a tar header ("ustar" at 257).
bool looks_like_archive(std::string_view head);

// A tar stream written entry by entry (koker-save's image archives), by the writer pack_dir
// uses: every entry owned by 0:0 with no user or group name, mode 0755 or 0644, the given
// mtime and no other time, so the same entries in the same order give the same bytes. shown
// names the stream in messages. Each call throws Error on a failed write (ENOSPC, EPIPE).
class TarWriter {
public:
  TarWriter(int fd, std::string shown);
  ~TarWriter();
  TarWriter(const TarWriter &) = delete;
  TarWriter &operator=(const TarWriter &) = delete;
  void add_dir(const std::string &name, int64_t mtime);
  void add_data(const std::string &name, std::string_view data, int64_t mtime);
  // Copies size bytes of fd (from names it); throws when fd holds fewer.
  void add_file(const std::string &name, int fd, uint64_t size, int64_t mtime,
                std::string_view from);
  // Writes the end-of-archive blocks.
  void close();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Pure helpers, for unit tests.
enum class WhiteoutKind { none, file, opaque };
struct Whiteout {
  WhiteoutKind kind = WhiteoutKind::none;
  std::string target; // the path the whiteout hides ("a/b" for "a/.wh.b"); the dir for opaque
};
// Classifies a normalised entry path ("a/.wh.b", "a/.wh..wh..opq"). Invalid whiteouts
// (".wh." alone, ".wh..", ".wh...") are reported as kind none with an empty target and must be
// refused by the caller.
Whiteout classify_whiteout(std::string_view path);
// Normalises an entry name: strips leading '/', drops "." components and repeated '/', and
// returns nothing for a name with a ".." component or that is empty after cleaning.
std::optional<std::string> normalise_path(std::string_view name);

} // namespace koker::archive
