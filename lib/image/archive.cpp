// SPDX-License-Identifier: MIT
#include "image/archive.hpp"
#include "base/clock.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/overlay_marks.hpp"
#include "image/parallel_writes.hpp"
#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <map>
#include <memory>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace koker::archive {
namespace {

// Large blocks keep syscalls and libarchive's per-block work low on big layers.
constexpr size_t BLOCK = 1 << 20;
// Threads writing a layer's regular files beside the one parsing it (ParallelWrites).
constexpr size_t writer_threads = 2;

struct ReadFree {
  void operator()(struct archive *a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(struct archive *a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry *e) const { archive_entry_free(e); }
};
struct DirClose {
  void operator()(DIR *d) const { ::closedir(d); }
};
using Reader = std::unique_ptr<struct archive, ReadFree>;
using Writer = std::unique_ptr<struct archive, WriteFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

// libarchive's private errno codes (archive_private.h, Linux values): not system errors.
constexpr int LA_ERRNO_FILE_FORMAT = EILSEQ;
constexpr int LA_ERRNO_PROGRAMMER = EINVAL;
constexpr int LA_ERRNO_MISC = -1;

bool is_sys_errno(int e) { return e > 0 && e != LA_ERRNO_FILE_FORMAT && e != LA_ERRNO_PROGRAMMER; }

// libarchive's message, with strerror when the error came from a system call ("Write failed"
// alone would hide ENOSPC). Names inside it come from the archive, so make it printable.
std::string describe(struct archive *a) {
  const char *s = archive_error_string(a);
  std::string msg = s ? s : "unknown error";
  int e = archive_errno(a);
  if (is_sys_errno(e)) {
    std::string reason = std::strerror(e);
    if (msg.find(reason) == std::string::npos)
      msg = cat(msg, ": ", reason);
  }
  return printable(msg, 400);
}

int archive_sys_errno(struct archive *a) {
  int e = archive_errno(a);
  return is_sys_errno(e) ? e : 0;
}

// pax stores names as UTF-8 and libarchive converts them to the locale's charset, warning
// (ARCHIVE_WARN, an error here) when it cannot: under the C locale every non-ASCII name would
// fail. A UTF-8 LC_CTYPE for this thread only (uselocale(3)) keeps the bytes as they are.
class Utf8Locale {
public:
  Utf8Locale() : m_loc(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(nullptr))) {
    if (m_loc)
      m_old = ::uselocale(m_loc);
  }
  ~Utf8Locale() {
    if (m_loc) {
      ::uselocale(m_old);
      ::freelocale(m_loc);
    }
  }
  Utf8Locale(const Utf8Locale &) = delete;
  Utf8Locale &operator=(const Utf8Locale &) = delete;

private:
  locale_t m_loc;
  locale_t m_old = LC_GLOBAL_LOCALE;
};

// The extraction root as this thread's working directory, in a file-system context of its own
// (unshare(CLONE_FS): cwd and umask private to the thread, as runc's and Go's per-thread
// chdir do), so libarchive gets names relative to it. Its SECURE_SYMLINKS check then walks
// only an entry's own components, not the store's path above them: that walk was most of
// the syscalls of a pull (an openat, an fstatat and a close per component and entry; issue
// 21). The old directory is restored at the end. active() is false when unshare or fchdir
// failed: names stay absolute then.
class ThreadWorkDir {
public:
  explicit ThreadWorkDir(int dir_fd) {
    if (::unshare(CLONE_FS) < 0)
      return;
    m_old.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (m_old && ::fchdir(dir_fd) == 0)
      m_active = true;
  }
  ~ThreadWorkDir() {
    if (m_active && ::fchdir(m_old.get()) < 0)
      log::debug("unable to return to the working directory: ", std::strerror(errno));
  }
  ThreadWorkDir(const ThreadWorkDir &) = delete;
  ThreadWorkDir &operator=(const ThreadWorkDir &) = delete;
  bool active() const { return m_active; }

private:
  Fd m_old;
  bool m_active = false;
};

struct Cleaned {
  std::string path; // empty for the root itself
  bool dotdot = false;
};

// The path's components joined again, empty and "." ones dropped; notes any "..".
Cleaned clean(std::string_view name) {
  Cleaned c;
  for (const auto &comp : text::fields(name, '/')) {
    if (comp == "..") {
      c.dotdot = true;
    } else if (comp != ".") {
      if (!c.path.empty())
        c.path += '/';
      c.path += comp;
    }
  }
  return c;
}

constexpr std::string_view WH_PREFIX = ".wh.";
constexpr std::string_view WH_META = ".wh..wh."; // aufs metadata (.wh..wh.plnk, .wh..wh.aufs)
constexpr std::string_view WH_OPAQUE = ".wh..wh..opq";

// Opens directory rel (a cleaned path, "" for the root) below root_fd one component at a time
// with O_NOFOLLOW, so no symlink is ever followed (docs/security.md "Unpacking layers"
// rule 8: act relative to the root fd).
// Missing components are created (mode 0755) when create is set.
Fd open_dir_beneath(int root_fd, const std::string &rel, bool create) {
  Fd cur(check(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "unable to open layer"));
  std::string done; // the components opened so far, for messages
  for (const auto &comp : text::fields(rel, '/')) {
    done += (done.empty() ? "" : "/") + comp;
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    Fd next(::openat(cur.get(), comp.c_str(), flags));
    if (!next && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), comp.c_str(), 0755) < 0 && errno != EEXIST)
        sys_fail("unable to create directory ", printable(done));
      next.reset(::openat(cur.get(), comp.c_str(), flags));
      if (next)
        ::fchmod(next.get(), 0755); // mkdirat applied the umask
    }
    if (!next)
      sys_fail("unable to open directory ", printable(done), " in the layer");
    cur = std::move(next);
  }
  return cur;
}

// How the extraction treats entries: image layers get whiteouts, owners, devices and a filtered
// set of xattrs; plain tar files (oci-archive, docker-archive) none of those.
struct Mode {
  const char *what;
  bool layer;
  // koker-cp: the entry named rebase_from and all below it land as rebase_to (docker's
  // RebaseArchiveEntries), owners kept only with -a.
  std::string rebase_from = {}, rebase_to = {};
  bool owners = false;
  bool copy = false; // koker-cp, in a chrooted child: "/" is the container's root
  bool added = false; // koker-build's ADD: bzip2 and xz too
};

// The uncompressed tar stream: decompressed by an outer archive_read (gzip, zstd or none,
// format raw), hashed and counted here, and handed to the inner tar reader through
// archive_read_open's callback.
struct Stream {
  struct archive *outer = nullptr;
  digest::Sha256 *hash = nullptr;
  uint64_t bytes = 0;
  uint64_t max_bytes = 0;
  std::string error; // set when a callback failed for a reason of ours
};

// Returns the next block of the uncompressed stream (size 0 at its end), hashing and counting
// it; -1 with s->error set on failure.
la_ssize_t next_block(Stream *s, const void **buf) {
  for (;;) {
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(s->outer, buf, &size, &offset);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r != ARCHIVE_OK) {
      s->error = describe(s->outer);
      return -1;
    }
    if (size == 0)
      continue;
    s->bytes += size;
    if (s->bytes > s->max_bytes) {
      // A decompression bomb: stop before the tar reader sees more (docs/security.md "Unpacking layers" rule 7).
      s->error = cat("more than ", s->max_bytes, " uncompressed bytes (KOKER_MAX_LAYER_BYTES)");
      return -1;
    }
    if (s->hash) {
      try {
        s->hash->update(*buf, size);
      } catch (const std::exception &e) {
        s->error = e.what();
        return -1;
      }
    }
    return static_cast<la_ssize_t>(size);
  }
}

la_ssize_t read_callback(struct archive *inner, void *data, const void **buf) {
  auto *s = static_cast<Stream *>(data);
  la_ssize_t n = next_block(s, buf);
  if (n < 0)
    archive_set_error(inner, LA_ERRNO_MISC, "%s", s->error.c_str());
  return n;
}

// The compressed input, read from fd in large blocks.
struct Input {
  int fd = -1;
  std::unique_ptr<char[]> buf;
  uint64_t bytes = 0;
  uint64_t wait_ns = 0; // in read(2): the pull's split of a layer's time (LayerInfo)
  std::string error;
  int err = 0;
};

la_ssize_t fd_callback(struct archive *a, void *data, const void **buf) {
  auto *in = static_cast<Input *>(data);
  for (;;) {
    uint64_t t0 = clock::monotonic_ns();
    ssize_t n = ::read(in->fd, in->buf.get(), BLOCK);
    in->wait_ns += clock::monotonic_ns() - t0;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      in->err = errno;
      in->error = cat("unable to read: ", std::strerror(errno));
      archive_set_error(a, in->err, "%s", in->error.c_str());
      return -1;
    }
    in->bytes += static_cast<uint64_t>(n);
    *buf = in->buf.get();
    return n;
  }
}

// gzip and zstd must be decoded in-process: built without zlib or libzstd, libarchive would
// run an external program (docs/security.md "Unpacking layers" rule 6, CVE-2014-9357).
// Refuse rather than fall back.
void check_codecs(struct archive *a, const char *what) {
  if (!archive_zlib_version() || !archive_libzstd_version())
    fail("unable to extract ", what, ": libarchive lacks built-in zlib or zstd support");
  if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
      archive_read_support_filter_none(a) != ARCHIVE_OK)
    fail("unable to extract ", what, ": libarchive would decompress with an external program");
}

class Extractor {
public:
  Extractor(int fd, const std::string &dir, const Limits &limits, Mode mode)
      : m_fd(fd), m_limits(limits), m_mode(mode) {
    // Resolve our own prefix once: libarchive's SECURE_SYMLINKS walks the whole absolute path
    // and must meet no symlink in the part that is ours.
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(dir.c_str(), nullptr), &std::free);
    if (!real)
      sys_fail("unable to extract ", m_mode.what, " into ", dir);
    m_root = real.get();
    if (m_root == "/" && !m_mode.copy)
      fail("unable to extract ", m_mode.what, ": refusing to extract into /");
    m_root_fd.reset(::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!m_root_fd)
      sys_fail("unable to open ", m_root);
  }

  LayerInfo run() {
    Utf8Locale utf8;
    digest::Sha256 hash;
    if (!open_outer()) {
      log::debug("extract ", m_mode.what, " into ", m_root, ": empty input");
      if (m_mode.layer)
        m_info.diff_id = hash.finish();
      return m_info;
    }
    m_stream.hash = m_mode.layer ? &hash : nullptr;
    m_stream.max_bytes = m_limits.max_bytes;
    log::debug("extract ", m_mode.what, " into ", m_root, " (filters: ", filters(), ")");
    open_inner();
    // koker-cp extracts in a chrooted child, where "/" is the container's: paths stay absolute.
    std::optional<ThreadWorkDir> here;
    if (!m_mode.copy)
      here.emplace(m_root_fd.get());
    m_relative = here && here->active();
    // Freed before the working directory goes back, even on a failure: archive_write_free
    // closes the writer, which applies its deferred directory fix-ups by the same names.
    struct FreeDisk {
      Writer &w;
      ~FreeDisk() { w.reset(); }
    } free_disk{m_disk};
    // The file-writing threads stop before either: they write by relative names too.
    struct StopWrites {
      std::optional<ParallelWrites> &w;
      ~StopWrites() { w.reset(); }
    } stop_writes{m_writes};
    open_disk();
    archive_entry *e = nullptr;
    for (;;) {
      int r = archive_read_next_header(m_in.get(), &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK) // ARCHIVE_WARN too ("Unpacking layers" rule 6)
        fail_read();
      if (++m_info.entries > m_limits.max_entries)
        fail("unable to extract ", m_mode.what, ": more than ", m_limits.max_entries,
             " entries (KOKER_MAX_LAYER_ENTRIES)");
      extract_entry(e);
    }
    if (m_writes)
      m_writes->barrier();
    apply_opaque();
    if (archive_write_close(m_disk.get()) != ARCHIVE_OK)
      throw Error(cat("unable to extract ", m_mode.what, ": ", describe(m_disk.get())), 125,
                  archive_sys_errno(m_disk.get()));
    drain();
    m_info.input_wait_ns = m_input.wait_ns;
    if (m_mode.layer)
      m_info.diff_id = hash.finish();
    log::debug("extracted ", m_info.entries, " entries, ", m_info.size, " bytes of content (",
               m_stream.bytes, " tar bytes) into ", m_root,
               m_mode.layer ? cat(": ", m_info.diff_id) : std::string());
    return m_info;
  }

private:
  bool open_outer() {
    m_outer.reset(archive_read_new());
    if (!m_outer)
      fail("unable to extract ", m_mode.what, ": out of memory");
    check_codecs(m_outer.get(), m_mode.what);
    if (m_mode.added) { // ADD's archives: as gzip and zstd, never an external program
      if (!archive_bzlib_version() || !archive_liblzma_version() ||
          archive_read_support_filter_bzip2(m_outer.get()) != ARCHIVE_OK ||
          archive_read_support_filter_xz(m_outer.get()) != ARCHIVE_OK)
        fail("unable to extract ", m_mode.what, ": libarchive lacks built-in bzip2 or xz support");
    }
    archive_read_support_format_raw(m_outer.get());
    m_input.fd = m_fd;
    m_input.buf.reset(new char[BLOCK]);
    archive_entry *e = nullptr;
    int r = archive_read_open(m_outer.get(), &m_input, nullptr, fd_callback, nullptr);
    if (r == ARCHIVE_OK)
      r = archive_read_next_header(m_outer.get(), &e);
    if (r != ARCHIVE_OK && m_input.bytes == 0 && m_input.error.empty())
      return false; // no bytes at all: an empty layer, as Go's archive/tar reads it
    if (r != ARCHIVE_OK)
      fail_outer();
    m_stream.outer = m_outer.get();
    return true;
  }

  std::string filters() const {
    std::string names;
    for (int i = archive_filter_count(m_outer.get()) - 1; i >= 0; --i) {
      const char *n = archive_filter_name(m_outer.get(), i);
      if (!n || std::string_view(n) == "none")
        continue;
      names += names.empty() ? n : cat(",", n);
    }
    return names.empty() ? "none" : names;
  }

  void open_inner() {
    m_in.reset(archive_read_new());
    if (!m_in)
      fail("unable to extract ", m_mode.what, ": out of memory");
    archive_read_support_filter_none(m_in.get());
    archive_read_support_format_tar(m_in.get());
    if (archive_read_open(m_in.get(), &m_stream, nullptr, read_callback, nullptr) != ARCHIVE_OK)
      fail_read();
  }

  void open_disk() {
    m_disk.reset(new_disk_writer());
    // A layer's regular files are written by two more threads (issue 21), when names are
    // relative: the workers share this thread's working directory.
    if (m_mode.layer && m_relative)
      m_writes.emplace(writer_threads, [this] { return new_disk_writer(); }, m_mode.what);
  }

  struct archive *new_disk_writer() {
    // archive_write_disk_new() samples the umask; directories it creates for entries that have
    // none of their own get 0755 & ~umask. Use 022, as runc does, not whatever koker inherited.
    mode_t old = ::umask(022);
    struct archive *w = archive_write_disk_new();
    ::umask(old);
    if (!w)
      fail("unable to extract ", m_mode.what, ": out of memory");
    // Paths are relative to m_root, this thread's working directory (ThreadWorkDir), or else
    // absolute under it (there is no dirfd API); normalise_path made every name relative.
    // No UNLINK: with it libarchive silently deletes a symlink met mid-path instead of refusing.
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS;
    if (m_mode.layer)
      flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
    if (m_mode.owners)
      flags |= ARCHIVE_EXTRACT_OWNER;
    if (m_relative)
      flags |= ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
    archive_write_disk_set_options(w, flags);
    return w;
  }

  [[noreturn]] void fail_outer() {
    if (!m_input.error.empty())
      throw Error(cat("unable to extract ", m_mode.what, ": ", m_input.error), 125, m_input.err);
    fail("unable to extract ", m_mode.what, ": ", describe(m_outer.get()));
  }
  [[noreturn]] void fail_read() {
    fail("unable to extract ", m_mode.what, ": ",
         m_stream.error.empty() ? describe(m_in.get()) : m_stream.error);
  }
  [[noreturn]] void fail_entry(std::string_view name, std::string_view why, int err = 0) {
    throw Error(cat("unable to extract ", m_mode.what, " entry ", printable(name), ": ", why), 125,
                err);
  }
  [[noreturn]] void fail_disk(std::string_view name) {
    fail_entry(name, describe(m_disk.get()), archive_sys_errno(m_disk.get()));
  }

  void rebase(std::string &path) const {
    const std::string &from = m_mode.rebase_from;
    if (from.empty() || path.compare(0, from.size(), from) != 0 ||
        (path.size() > from.size() && path[from.size()] != '/'))
      return;
    std::string rest = path.substr(from.size());
    path = m_mode.rebase_to.empty() && !rest.empty() ? rest.substr(1) : m_mode.rebase_to + rest;
  }

  // The name libarchive writes to (relative to the working directory or absolute, see
  // m_relative); refuse what would need its chdir-based "deep directory" code (unused by
  // real images).
  std::string under_root(std::string_view name, const std::string &rel) {
    std::string abs = cat(m_root, "/", rel);
    if (abs.size() >= PATH_MAX)
      fail_entry(name, "path too long");
    return m_relative ? rel : abs;
  }

  void extract_entry(archive_entry *e) {
    const char *raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    Cleaned c = clean(name);
    if (c.dotdot)
      fail_entry(name, "refusing path with ..");
    rebase(c.path);
    if (c.path.empty())
      return; // the root itself ("./"): dir is the caller's, keep its metadata
    // A whiteout's target and a hard link's must be on disk as a sequential unpack leaves
    // them: the queued files first (rare entries).
    if (m_writes && (name.find(WH_PREFIX) != std::string::npos || archive_entry_hardlink(e)))
      m_writes->barrier();
    if (m_mode.layer && !convert_whiteout(e, name, c.path))
      return;

    auto type = archive_entry_filetype(e);
    if (!m_mode.layer) {
      if (type == AE_IFCHR || type == AE_IFBLK)
        fail_entry(name, "refusing device node");
      archive_entry_set_perm(e, archive_entry_perm(e) & ~mode_t(S_ISUID | S_ISGID));
    } else if ((type == AE_IFCHR || type == AE_IFBLK) && archive_entry_rdev(e) != 0 &&
               rootless::active()) {
      // mknod(2) of a real device is refused in a user namespace (a whiteout, 0:0, is
      // allowed since Linux 5.8): skipped, as moby's and containers/storage's unpackers do
      // there (a container's /dev is its own anyway).
      log::debug("rootless: skipping device node ", printable(name));
      return;
    }
    if (const char *link = archive_entry_hardlink(e))
      archive_entry_copy_hardlink(e, checked_hardlink(name, link).c_str());
    filter_xattrs(e);
    archive_entry_acl_clear(e);
    archive_entry_copy_pathname(e, under_root(name, c.path).c_str());

    if (m_writes) {
      if (m_writes->conflicts(c.path, type == AE_IFDIR))
        m_writes->barrier();
      if (type == AE_IFREG && !archive_entry_hardlink(e) && archive_entry_size(e) >= 0 &&
          uint64_t(archive_entry_size(e)) <= ParallelWrites::max_file) {
        m_writes->submit(e, read_content(name, uint64_t(archive_entry_size(e))), c.path, name);
        return;
      }
    }
    if (archive_write_header(m_disk.get(), e) != ARCHIVE_OK)
      fail_disk(name);
    if (type == AE_IFREG && archive_entry_size(e) > 0)
      copy_data(name);
    if (archive_write_finish_entry(m_disk.get()) != ARCHIVE_OK)
      fail_disk(name);
  }

  // OCI image-spec "Whiteouts": ".wh.NAME" becomes the overlayfs whiteout for NAME (a char
  // device 0:0), ".wh..wh..opq" is remembered and applied as the opaque xattr at the end
  // (overlay_marks::opaque_xattr: trusted.*, or user.* in a rootless store).
  // Returns false when the entry needs no writing of its own.
  bool convert_whiteout(archive_entry *e, const std::string &name, std::string &path) {
    auto comps = text::split(path, '/');
    comps.pop_back(); // the directories above the entry, not the entry itself
    for (const auto &comp : comps) {
      if (text::starts_with(comp, WH_META))
        return false; // inside aufs metadata: never part of the image (containerd skips it)
      if (text::starts_with(comp, WH_PREFIX))
        fail_entry(name, "refusing whiteout name as a directory");
    }
    Whiteout w = classify_whiteout(path);
    std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);
    if (w.kind == WhiteoutKind::opaque) {
      m_opaque.push_back(w.target == "." ? "" : w.target);
      return false;
    }
    if (w.kind == WhiteoutKind::none) {
      if (text::starts_with(base, WH_META))
        return false; // aufs metadata (.wh..wh.plnk), as containerd does
      if (text::starts_with(base, WH_PREFIX))
        fail_entry(name, "refusing invalid whiteout");
      return true;
    }
    // "Files that are present in the same layer as a whiteout file can only be hidden by
    // whiteout files in subsequent layers": a whiteout never replaces this layer's own file.
    if (exists_in_layer(w.target))
      return false;
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_perm(e, 0);
    archive_entry_set_rdev(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_copy_hardlink(e, nullptr);
    archive_entry_copy_symlink(e, nullptr);
    archive_entry_xattr_clear(e);
    path = w.target;
    return true;
  }

  // Whether rel already exists below the root, reached without following symlinks (one that
  // is in the way makes it "no": the write that follows is then refused by libarchive).
  bool exists_in_layer(const std::string &rel) {
    auto slash = rel.rfind('/');
    try {
      Fd dir = open_dir_beneath(m_root_fd.get(),
                                slash == std::string::npos ? "" : rel.substr(0, slash), false);
      struct stat st;
      return ::fstatat(dir.get(), rel.c_str() + (slash == std::string::npos ? 0 : slash + 1), &st,
                       AT_SYMLINK_NOFOLLOW) == 0;
    } catch (const Error &) {
      return false;
    }
  }

  // Hard link targets are normalised like names (kaniko writes them absolute) and must name a
  // non-directory already in this layer, reached without following any symlink: a link to a
  // host file would let the container write it.
  std::string checked_hardlink(const std::string &name, std::string_view link) {
    Cleaned t = clean(link);
    if (t.dotdot)
      fail_entry(name, cat("refusing hard link to ", printable(link), ": path with .."));
    rebase(t.path);
    if (t.path.empty())
      fail_entry(name, cat("refusing hard link to ", printable(link)));
    auto slash = t.path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : t.path.substr(0, slash);
    std::string base = t.path.substr(slash == std::string::npos ? 0 : slash + 1);
    auto refuse = [&](int err) {
      std::string why = err == ENOENT                    ? "no such file in the layer"
                        : err == ELOOP || err == ENOTDIR ? "path goes through a symlink"
                                                         : std::strerror(err);
      fail_entry(name, cat("refusing hard link to ", printable(link), ": ", why));
    };
    Fd dir;
    try {
      dir = open_dir_beneath(m_root_fd.get(), parent, false);
    } catch (const Error &err) {
      refuse(err.sys_errno());
    }
    struct stat st;
    if (::fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      refuse(errno);
    if (S_ISDIR(st.st_mode))
      fail_entry(name, cat("refusing hard link to directory ", printable(link)));
    return under_root(name, t.path);
  }

  // docs/security.md "Unpacking layers" rule 4: EXTRACT_XATTR would restore
  // trusted.overlay.* (forging whiteouts
  // and redirects) and security.selinux; layers keep only file capabilities and user.*, less
  // user.overlay.* in a rootless store (its overlays' marks, overlay_marks.hpp).
  void filter_xattrs(archive_entry *e) {
    if (archive_entry_xattr_count(e) == 0)
      return;
    std::vector<std::pair<std::string, std::string>> keep;
    if (m_mode.layer) {
      archive_entry_xattr_reset(e);
      const char *xname = nullptr;
      const void *value = nullptr;
      size_t size = 0;
      while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
        std::string_view n = xname ? xname : "";
        bool user = text::starts_with(n, "user.") && n.size() > 5 &&
                    !(rootless::active() &&
                      text::starts_with(n, overlay_marks::USER_OVERLAY_PREFIX));
        if (n == "security.capability" || user)
          keep.emplace_back(std::string(n), std::string(static_cast<const char *>(value), size));
      }
    }
    archive_entry_xattr_clear(e);
    for (const auto &[n, v] : keep)
      archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
  }

  // A regular file's content in memory, for a writer thread: holes of a sparse entry as
  // zeros, up to its size.
  std::string read_content(const std::string &name, uint64_t size) {
    std::string data;
    data.reserve(size_t(size));
    for (;;) {
      const void *buf = nullptr;
      size_t n = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(m_in.get(), &buf, &n, &offset);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK)
        fail_read();
      if (offset < 0 || uint64_t(offset) + n > size)
        fail_entry(name, "data past the entry's size");
      if (uint64_t(offset) > data.size())
        data.resize(size_t(offset));
      data.replace(size_t(offset), n, static_cast<const char *>(buf), n);
      m_info.size += n;
    }
    data.resize(size_t(size));
    return data;
  }

  void copy_data(const std::string &name) {
    for (;;) {
      const void *buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(m_in.get(), &buf, &size, &offset);
      if (r == ARCHIVE_EOF)
        return;
      if (r != ARCHIVE_OK)
        fail_read();
      if (archive_write_data_block(m_disk.get(), buf, size, offset) != ARCHIVE_OK)
        fail_disk(name);
      m_info.size += size;
    }
  }

  void apply_opaque() {
    std::sort(m_opaque.begin(), m_opaque.end());
    m_opaque.erase(std::unique(m_opaque.begin(), m_opaque.end()), m_opaque.end());
    for (const auto &dir : m_opaque) {
      std::string shown = dir.empty() ? "/" : dir;
      Fd fd;
      try {
        fd = open_dir_beneath(m_root_fd.get(), dir, true);
      } catch (const Error &e) {
        throw Error(cat("unable to extract ", m_mode.what, " entry ", printable(shown),
                        "/.wh..wh..opq: ", e.what()),
                    125, e.sys_errno());
      }
      if (::fsetxattr(fd.get(), overlay_marks::opaque_xattr(), "y", 1, 0) < 0)
        sys_fail("unable to mark ", printable(shown), " opaque in the layer");
    }
  }

  // Reads the rest of the stream, so the hash covers tar padding after the end-of-archive
  // marker, then whatever follows the compressed stream, so a writer feeding fd never blocks.
  void drain() {
    const void *buf = nullptr;
    la_ssize_t n;
    while ((n = next_block(&m_stream, &buf)) > 0) {
    }
    if (n < 0)
      fail("unable to extract ", m_mode.what, ": ", m_stream.error);
    for (;;) {
      ssize_t r = ::read(m_fd, m_input.buf.get(), BLOCK);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
    }
  }

  int m_fd;
  Limits m_limits;
  Mode m_mode;
  std::string m_root;
  Fd m_root_fd;
  bool m_relative = false; // names are given relative to m_root (ThreadWorkDir)
  // Declared in pipeline order, so they are freed from the disk writer back to the input.
  Input m_input;
  Reader m_outer;
  Stream m_stream;
  Reader m_in;
  Writer m_disk;
  std::optional<ParallelWrites> m_writes; // a layer's regular files, on writer_threads
  LayerInfo m_info;
  std::vector<std::string> m_opaque;
};

// Writes the archive to fd while hashing it; errors are kept for the caller (no exception may
// cross libarchive's C frames).
struct Sink {
  int fd = -1;
  digest::Sha256 hash;
  uint64_t bytes = 0;
  std::string error;
  std::string what = "layer"; // for messages
  bool hashing = true;        // a layer's diff_id; an image archive needs none
  int also_fd = -1;            // a second copy of the tar (koker-commit: blob and unpacker)
};

la_ssize_t write_callback(struct archive *, void *data, const void *buf, size_t size) {
  auto *s = static_cast<Sink *>(data);
  try {
    sys::write_fd(s->fd, std::string_view(static_cast<const char *>(buf), size), s->what);
    if (s->also_fd >= 0)
      sys::write_fd(s->also_fd, std::string_view(static_cast<const char *>(buf), size), s->what);
    if (s->hashing)
      s->hash.update(buf, size);
  } catch (const std::exception &e) {
    s->error = e.what();
    return -1;
  }
  s->bytes += size;
  return static_cast<la_ssize_t>(size);
}

// The one tar format koker writes (layers, cp streams, image archives): pax headers only
// where ustar cannot hold a field, no compression, 64 KiB blocks and an unpadded last block.
// Returns false on failure (w null: out of memory; else archive_error_string says why).
bool open_tar(Writer &w, Sink &sink) {
  w.reset(archive_write_new());
  if (!w)
    return false;
  archive_write_set_format_pax_restricted(w.get());
  archive_write_add_filter_none(w.get());
  archive_write_set_bytes_per_block(w.get(), 65536);
  archive_write_set_bytes_in_last_block(w.get(), 1);
  return archive_write_open(w.get(), &sink, nullptr, write_callback, nullptr) == ARCHIVE_OK;
}

class Packer {
public:
  Packer(const std::string &dir, int fd, const UpperOptions *upper = nullptr,
         const CopyOptions *copy = nullptr)
      : m_dir(dir), m_upper(upper), m_copy(copy) {
    m_sink.fd = fd;
    m_sink.also_fd = upper ? upper->also_fd : -1;
  }

  // path itself named top, then what is below it; top "" is a directory's contents only.
  void run_path(const std::string &given, const std::string &top, bool follow) {
    Utf8Locale utf8;
    std::string path = given;
    if (follow) { // -L: the link's target, resolved by the kernel (in the caller's root)
      std::unique_ptr<char, decltype(&std::free)> real(::realpath(given.c_str(), nullptr),
                                                       &std::free);
      if (!real)
        sys_fail("unable to resolve ", given);
      path = real.get();
    }
    log::debug("pack ", path, " as a tar stream, its entries named ", top.empty() ? "." : top);
    open_writer();
    struct stat st;
    check(::lstat(path.c_str(), &st), "unable to stat ", path);
    if (top.empty() || S_ISDIR(st.st_mode)) {
      Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir)
        sys_fail("unable to open ", path);
      if (!top.empty())
        write_entry(dir.get(), ".", top, path, false);
      walk(dir.get(), top);
    } else {
      auto slash = path.rfind('/');
      std::string parent = slash == 0                   ? "/"
                           : slash == std::string::npos ? "."
                                                        : path.substr(0, slash);
      Fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir)
        sys_fail("unable to open ", parent);
      write_entry(dir.get(), path.substr(slash + 1), top, path, false);
    }
    if (archive_write_close(m_out.get()) != ARCHIVE_OK)
      fail_archive();
  }

  LayerInfo run() {
    Utf8Locale utf8;
    Fd root(::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
      sys_fail("unable to open ", m_dir);
    log::debug("pack ", m_dir, m_upper ? " (an overlay upper directory)" : "", " as a tar layer");
    open_writer();
    walk(root.get(), "");
    if (archive_write_close(m_out.get()) != ARCHIVE_OK)
      fail_archive();
    m_info.diff_id = m_sink.hash.finish();
    log::debug("packed ", m_info.entries, " entries, ", m_info.size, " bytes of content (",
               m_sink.bytes, " tar bytes) from ", m_dir, ": ", m_info.diff_id);
    return m_info;
  }

private:
  void open_writer() {
    if (!open_tar(m_out, m_sink)) {
      if (!m_out)
        fail("unable to pack ", m_dir, ": out of memory");
      fail_archive();
    }
  }

  [[noreturn]] void fail_archive() {
    fail("unable to pack ", m_dir, ": ",
         m_sink.error.empty() ? describe(m_out.get()) : m_sink.error);
  }

  static std::vector<std::string> sorted_names(int dfd, const std::string &shown) {
    int dup = check(::fcntl(dfd, F_DUPFD_CLOEXEC, 0), "unable to read directory ", shown);
    std::unique_ptr<DIR, DirClose> d(::fdopendir(dup));
    if (!d) {
      ::close(dup);
      sys_fail("unable to read directory ", shown);
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent *de = ::readdir(d.get())) {
      std::string_view n = de->d_name;
      if (n != "." && n != "..")
        names.emplace_back(n);
    }
    if (errno != 0)
      sys_fail("unable to read directory ", shown);
    std::sort(names.begin(), names.end());
    return names;
  }

  // Depth first, each directory's names in byte order, a directory before its contents: the
  // same tree always gives the same tar, hence the same diff_id.
  void walk(int dfd, const std::string &prefix) {
    std::string shown = prefix.empty() ? m_dir : cat(m_dir, "/", prefix);
    for (const auto &n : sorted_names(dfd, shown)) {
      std::string rel = prefix.empty() ? n : cat(prefix, "/", n);
      write_entry(dfd, n, rel, cat(m_dir, "/", rel), true);
    }
  }

  // The entry n of dfd, named rel (path in messages), and with recurse what is below it.
  void write_entry(int dfd, const std::string &n, const std::string &rel, const std::string &path,
                   bool recurse) {
    struct stat st;
    check(::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW), "unable to stat ", path);
    if (S_ISSOCK(st.st_mode))
      return; // tar cannot hold sockets, and a socket is no image content
    if (m_copy && m_copy->skip && m_copy->skip(rel)) {
      log::debug("leave out ", path, ": excluded by .dockerignore");
      if (recurse && S_ISDIR(st.st_mode) && m_copy->descend && m_copy->descend(rel)) {
        Fd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub)
          sys_fail("unable to open ", path);
        walk(sub.get(), rel); // an exception may re-include something below
      }
      return;
    }
    if (m_upper &&
        std::find(m_upper->skip.begin(), m_upper->skip.end(), rel) != m_upper->skip.end()) {
      log::debug("leave out ", path, ": koker's runtime file, not the container's change");
      return;
    }
    Entry e(archive_entry_new());
    if (!e)
      fail("unable to pack ", m_dir, ": out of memory");
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_copy_pathname(e.get(), rel.c_str());
    if (m_copy) { // COPY --chown/--chmod: the image's owner, not the context's
      if (m_copy->uid)
        archive_entry_set_uid(e.get(), *m_copy->uid);
      if (m_copy->gid)
        archive_entry_set_gid(e.get(), *m_copy->gid);
      if (m_copy->chmod && !S_ISLNK(st.st_mode))
        archive_entry_set_perm(e.get(), *m_copy->chmod);
    }
    // Reproducible headers: no atime/ctime, numeric owners only (no uname/gname).
    archive_entry_unset_atime(e.get());
    archive_entry_unset_ctime(e.get());
    archive_entry_unset_birthtime(e.get());
    clamp(e.get());
    if (!S_ISREG(st.st_mode))
      archive_entry_set_size(e.get(), 0);
    ++m_info.entries;
    if (m_upper && overlay_marks::is_whiteout(st)) {
      // overlayfs's whiteout, as docker's overlay2 writes it: an empty 0600 file .wh.NAME
      auto slash = rel.rfind('/');
      std::string wh =
          slash == std::string::npos ? cat(".wh.", rel) : cat(rel.substr(0, slash + 1), ".wh.", n);
      archive_entry_copy_pathname(e.get(), wh.c_str());
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_perm(e.get(), 0600);
      archive_entry_set_rdev(e.get(), 0);
      write_header(e.get(), path);
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      write_header(e.get(), path);
      Fd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub)
        sys_fail("unable to open ", path);
      if (m_upper && overlay_marks::is_opaque(sub.get()))
        write_opaque(e.get(), rel, path);
      if (recurse)
        walk(sub.get(), rel);
    } else if (S_ISLNK(st.st_mode)) {
      archive_entry_copy_symlink(e.get(), read_link(dfd, n, path).c_str());
      write_header(e.get(), path);
    } else if (S_ISREG(st.st_mode)) {
      write_file(dfd, n, path, rel, st, e.get());
    } else {
      write_header(e.get(), path); // device nodes and fifos
    }
  }

  // SOURCE_DATE_EPOCH: no time after it (reproducible-builds.org), whole seconds.
  void clamp(archive_entry *e) const {
    if (!m_upper || !m_upper->clamp_mtime)
      return;
    int64_t t = std::min<int64_t>(archive_entry_mtime(e), *m_upper->clamp_mtime);
    archive_entry_set_mtime(e, static_cast<time_t>(t), 0);
  }

  // The directory dir (entry e) hides what the layers below hold: its opaque marker, right
  // after it, with its owner and permissions (docker's overlayWhiteoutConverter).
  void write_opaque(archive_entry *dir, const std::string &rel, const std::string &path) {
    Entry e(archive_entry_new());
    if (!e)
      fail("unable to pack ", m_dir, ": out of memory");
    archive_entry_copy_pathname(e.get(), cat(rel, "/.wh..wh..opq").c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), archive_entry_perm(dir) & 07777);
    archive_entry_set_uid(e.get(), archive_entry_uid(dir));
    archive_entry_set_gid(e.get(), archive_entry_gid(dir));
    archive_entry_set_mtime(e.get(), archive_entry_mtime(dir), archive_entry_mtime_nsec(dir));
    archive_entry_set_size(e.get(), 0);
    ++m_info.entries;
    write_header(e.get(), path + "/.wh..wh..opq");
  }

  static std::string read_link(int dfd, const std::string &n, const std::string &path) {
    std::string target(PATH_MAX, '\0');
    ssize_t len = check(::readlinkat(dfd, n.c_str(), target.data(), target.size()),
                        "unable to read link ", path);
    target.resize(static_cast<size_t>(len));
    return target;
  }

  void write_file(int dfd, const std::string &n, const std::string &path, const std::string &rel,
                  const struct stat &st, archive_entry *e) {
    if (st.st_nlink > 1) {
      auto [it, first] = m_links.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!first) {
        archive_entry_copy_hardlink(e, it->second.c_str());
        archive_entry_set_size(e, 0);
        write_header(e, path);
        return;
      }
    }
    // O_NONBLOCK: should the file have been swapped for a fifo, fail instead of hanging.
    Fd f(::openat(dfd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!f)
      sys_fail("unable to open ", path);
    struct stat now;
    check(::fstat(f.get(), &now), "unable to stat ", path);
    if (now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      fail("unable to pack ", m_dir, ": ", path, " changed while packing");
    char cap[256];
    ssize_t caplen = ::fgetxattr(f.get(), "security.capability", cap, sizeof cap);
    if (caplen > 0)
      archive_entry_xattr_add_entry(e, "security.capability", cap, static_cast<size_t>(caplen));
    write_header(e, path);
    std::unique_ptr<char[]> buf(new char[BLOCK]);
    uint64_t left = static_cast<uint64_t>(st.st_size);
    while (left > 0) {
      ssize_t r = ::read(f.get(), buf.get(), std::min<uint64_t>(left, BLOCK));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        sys_fail("unable to read ", path);
      if (r == 0)
        break; // the file shrank: libarchive pads the entry to its recorded size
      if (archive_write_data(m_out.get(), buf.get(), static_cast<size_t>(r)) < 0)
        fail_archive();
      left -= static_cast<uint64_t>(r);
      m_info.size += static_cast<uint64_t>(r);
    }
    if (archive_write_finish_entry(m_out.get()) < ARCHIVE_WARN)
      fail_archive();
  }

  void write_header(archive_entry *e, const std::string &path) {
    int r = archive_write_header(m_out.get(), e);
    if (r == ARCHIVE_WARN) // a name that is not UTF-8: pax records it as binary, still exact
      log::warn("packing ", printable(path), ": ", describe(m_out.get()));
    else if (r != ARCHIVE_OK)
      fail_archive();
  }

  std::string m_dir;
  Sink m_sink;
  Writer m_out;
  LayerInfo m_info;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
  const UpperOptions *m_upper;
  const CopyOptions *m_copy;
};

} // namespace

struct TarWriter::Impl {
  std::string shown;
  Sink sink;
  Writer out;

  [[noreturn]] void fail_archive() {
    fail("unable to write ", shown, ": ", sink.error.empty() ? describe(out.get()) : sink.error);
  }

  // A header of the fixed owner 0:0 (no names), mode and mtime: nothing of the host leaks
  // into the archive, and the same content gives the same bytes.
  Entry entry(const std::string &name, mode_t mode, uint64_t size, int64_t mtime) {
    Entry e(archive_entry_new());
    if (!e)
      fail("unable to write ", shown, ": out of memory");
    archive_entry_copy_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), static_cast<time_t>(mtime), 0);
    if (archive_write_header(out.get(), e.get()) != ARCHIVE_OK)
      fail_archive();
    return e;
  }

  void data(const void *p, size_t n) {
    if (archive_write_data(out.get(), p, n) < 0)
      fail_archive();
  }

  void finish() {
    if (archive_write_finish_entry(out.get()) != ARCHIVE_OK)
      fail_archive();
  }
};

TarWriter::TarWriter(int fd, std::string shown) : m_impl(std::make_unique<Impl>()) {
  m_impl->shown = std::move(shown);
  m_impl->sink.fd = fd;
  m_impl->sink.what = m_impl->shown;
  m_impl->sink.hashing = false;
  if (!open_tar(m_impl->out, m_impl->sink)) {
    if (!m_impl->out)
      fail("unable to write ", m_impl->shown, ": out of memory");
    m_impl->fail_archive();
  }
}

TarWriter::~TarWriter() = default;

void TarWriter::add_dir(const std::string &name, int64_t mtime) {
  log::debug("tar ", m_impl->shown, ": ", name);
  m_impl->entry(name, AE_IFDIR | 0755, 0, mtime);
  m_impl->finish();
}

void TarWriter::add_data(const std::string &name, std::string_view data, int64_t mtime) {
  log::debug("tar ", m_impl->shown, ": ", name, " (", data.size(), " bytes)");
  m_impl->entry(name, AE_IFREG | 0644, data.size(), mtime);
  m_impl->data(data.data(), data.size());
  m_impl->finish();
}

void TarWriter::add_file(const std::string &name, int fd, uint64_t size, int64_t mtime,
                         std::string_view from) {
  log::debug("tar ", m_impl->shown, ": ", name, " (", size, " bytes of ", from, ")");
  m_impl->entry(name, AE_IFREG | 0644, size, mtime);
  std::unique_ptr<char[]> buf(new char[BLOCK]);
  uint64_t left = size;
  while (left > 0) {
    ssize_t r = ::read(fd, buf.get(), std::min<uint64_t>(left, BLOCK));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      sys_fail("unable to read ", from);
    if (r == 0)
      fail("unable to read ", from, ": ", left, " bytes short of its ", size);
    m_impl->data(buf.get(), static_cast<size_t>(r));
    left -= static_cast<uint64_t>(r);
  }
  m_impl->finish();
}

void TarWriter::close() {
  if (archive_write_close(m_impl->out.get()) != ARCHIVE_OK)
    m_impl->fail_archive();
}

namespace {

uint64_t limit_from_env(const char *name, uint64_t fallback) {
  std::string v = sys::env(name);
  if (v.empty())
    return fallback;
  auto n = sys::parse_uint(v);
  if (!n)
    fail("invalid ", name, " value ", printable(v), ": expected a decimal number");
  return *n;
}

} // namespace

Limits Limits::from_env() {
  Limits l;
  l.max_bytes = limit_from_env("KOKER_MAX_LAYER_BYTES", l.max_bytes);
  l.max_entries = limit_from_env("KOKER_MAX_LAYER_ENTRIES", l.max_entries);
  return l;
}

LayerInfo extract_layer(int fd, const std::string &dir, const Limits &limits) {
  return Extractor(fd, dir, limits, Mode{"layer", true}).run();
}

void extract_tar(int fd, const std::string &dir, const Limits &limits) {
  Extractor(fd, dir, limits, Mode{"archive", false}).run();
}

LayerInfo pack_dir(const std::string &dir, int fd) { return Packer(dir, fd).run(); }

LayerInfo pack_upper(const std::string &upper, int fd, const UpperOptions &options) {
  return Packer(upper, fd, &options).run();
}

void pack_path(const std::string &path, const std::string &top, bool follow, int fd) {
  Packer(path, fd).run_path(path, top, follow);
}

void pack_path(const std::string &path, const std::string &top, bool follow, int fd,
               const CopyOptions &options) {
  Packer(path, fd, nullptr, &options).run_path(path, top, follow);
}

void extract_added(int fd, const std::string &dir, const Limits &limits) {
  Mode mode{"archive", false};
  mode.owners = true;
  mode.copy = true;
  mode.added = true;
  Extractor(fd, dir, limits, mode).run();
}

bool looks_like_archive(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  return starts("\x1f\x8b") || starts("BZh") || starts(std::string_view("\xfd" "7zXZ\0", 6)) ||
         starts("\x28\xb5\x2f\xfd") || (head.size() >= 262 && head.substr(257, 5) == "ustar");
}

void extract_copy(int fd, const std::string &dir, const Limits &limits, const Rebase &rebase,
                  bool keep_owners) {
  Mode mode{"archive", false};
  mode.rebase_from = rebase.from;
  mode.rebase_to = rebase.to;
  mode.owners = keep_owners;
  mode.copy = true;
  Extractor(fd, dir, limits, mode).run();
}

Whiteout classify_whiteout(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (!text::starts_with(base, WH_PREFIX))
    return {};
  if (base == WH_OPAQUE)
    return {WhiteoutKind::opaque, dir.empty() ? "." : std::string(dir)};
  std::string_view hidden = base.substr(WH_PREFIX.size());
  // ".wh." hides nothing, ".wh.." and ".wh..." would hide the directory or its parent, and
  // ".wh..wh.*" is reserved (aufs metadata): none of them is a whiteout of a file.
  if (hidden.empty() || hidden == "." || hidden == ".." || text::starts_with(hidden, WH_PREFIX))
    return {};
  return {WhiteoutKind::file, dir.empty() ? std::string(hidden) : cat(dir, "/", hidden)};
}

std::optional<std::string> normalise_path(std::string_view name) {
  Cleaned c = clean(name);
  if (c.dotdot || c.path.empty())
    return std::nullopt;
  return c.path;
}

} // namespace koker::archive
