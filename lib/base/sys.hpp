// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::sys {

// Detaches whatever is mounted on path (umount2 MNT_DETACH), logged; nothing when nothing is
// mounted there or path is gone. Throws for other failures.
void unmount(const std::string &path);
// True when path is the root of a mount in this mount namespace (statx(2)'s
// STATX_ATTR_MOUNT_ROOT, Linux 5.8); false when path is gone. Throws for other failures.
bool is_mount_point(const std::string &path);

// Reads a whole file; throws if it cannot be opened or is larger than max bytes.
std::string read_file(const std::string &path, size_t max = 16 << 20);
// Like read_file, but returns nothing when the file does not exist.
std::optional<std::string> read_file_if_exists(const std::string &path, size_t max = 16 << 20);
// Reads fd to its end in 64 KiB chunks, handing each to fn, retrying on EINTR; throws with what
// on a read error. The one read loop behind read_fd, checksums and copies.
void read_chunks(int fd, std::string_view what, const std::function<void(std::string_view)> &fn);
// Reads everything from fd, up to max bytes; throws past it or on an error, naming what (the
// file's path, or what the descriptor is).
std::string read_fd(int fd, size_t max, std::string_view what);
// Reads n bytes from fd (a pipe's message of known size), fewer only at its end.
std::string read_some(int fd, size_t n, std::string_view what);
// Writes all of data to fd, retrying on EINTR and short writes; throws with what on failure.
void write_fd(int fd, std::string_view data, std::string_view what);
// One line of fd without its newline, read a byte at a time, so that nothing past it is taken
// from a pipe others may share; it ends at the newline, the end of the input, or after max
// bytes. *complete says whether a newline ended it. Throws with what on a read error.
std::string read_line(int fd, size_t max, std::string_view what, bool *complete = nullptr);
// Writes path atomically: a temporary file beside it, fsync, rename, fsync of the directory.
// Live state that only has to survive a crashed process, not a power cut, passes
// durable=false and skips both fsyncs (they cost milliseconds on a container's start).
void write_file_atomic(const std::string &path, std::string_view data, unsigned mode = 0644,
                       bool durable = true);
// fsyncs a directory so a rename inside it is durable.
void fsync_dir(const std::string &dir);
// Creates dir and its missing parents with mode (existing ones are left as they are).
void mkdir_p(const std::string &dir, unsigned mode = 0755);
// Removes path recursively without following symlinks; absent is fine. Makes read-only
// directories writable first (the store keeps layers read-only).
void rm_rf(const std::string &path);
// The bytes of the files under path (their sizes, as docker counts a container's SizeRw),
// without following symlinks or crossing into another filesystem; 0 when path is absent.
uint64_t disk_usage(const std::string &path);
// The target of a symlink (readlink(2)); throws on failure.
std::string read_link(const std::string &path);
// Passes fd over the unix socket sock (SCM_RIGHTS, with one byte of data); throws on failure.
void send_fd(int sock, int fd);
// Receives a descriptor sent by send_fd (close-on-exec); an empty Fd when none came.
Fd receive_fd(int sock);
// True if path exists (lstat: a dangling symlink exists).
bool exists(const std::string &path);
// The directory part of a path ("a/b" for "a/b/c"; "." for "c").
std::string dirname(std::string_view path);
// Lists the names in a directory, without "." and "..".
std::vector<std::string> list_dir(const std::string &dir);
// The directories among them (no symbolic link to one), from the entries' d_type where the
// file system gives it (no stat each), else lstat.
std::vector<std::string> list_subdirs(const std::string &dir);
// n random bytes from getrandom(2) as 2n lower-case hex characters.
std::string random_hex(size_t n);
// An environment variable, or fallback when unset or empty.
std::string env(const char *name, std::string_view fallback = "");
// The current time as RFC 3339 with nanoseconds in UTC, like docker's "Created".
std::string now_rfc3339();
// ts (since the epoch, UTC) as now_rfc3339 writes it.
std::string rfc3339(const struct timespec &ts);
// Parses a non-negative decimal integer, all of the text; nothing if it is not one.
std::optional<uint64_t> parse_uint(std::string_view text);
// What a program run by run_program left: its exit status (128 + N after signal N, 127 when it
// could not be started) and what it wrote.
struct Ran {
  int status = 0;
  std::string out, err;
};
// Runs the program at path (searched on PATH when path holds no '/') with argv, argv[0]
// included, never through a shell; the child starts with no signal blocked. input goes to its
// stdin, its stdout is kept, and so is its stderr unless keep_stderr is false (it then goes
// where this process's goes). Reads stdout to its end before stderr: for programs that read
// all their input first and write little to stderr, as koker's helpers do.
Ran run_program(const std::string &path, const std::vector<std::string> &argv,
                std::string_view input = {}, bool keep_stderr = true);
// A program started by spawn_program, not waited for: its pid, the write end of its stdin
// and the read end of its stdout (and of its stderr when kept), all close-on-exec here.
struct Spawned {
  pid_t pid = -1;
  Fd in, out, err;
};
// Starts path as run_program does (posix_spawn: no page tables copied) and returns at once;
// the caller writes, reads and waits. Status 127 is reported as pid -1 (it could not be
// started: missing, not executable).
Spawned spawn_program(const std::string &path, const std::vector<std::string> &argv,
                      bool keep_stderr);
// Waits for pid (retrying on EINTR): its exit status, 128 + N after signal N; -1 when it is
// not this process's child (a forked copy of the process that started it waits in vain).
int wait_status(pid_t pid);
// The processes in pid's pid namespace (from /proc/*/ns/pid), or just pid when that is the
// caller's own: the processes of a container without a cgroup (rootless), the ones exec
// started too, whose parent is outside. Empty when pid is gone.
std::vector<pid_t> pid_namespace_processes(pid_t pid);
// Creates path, which must not exist yet, holding data: for files in a directory nobody else
// writes to yet, where a temporary name and a rename would buy nothing.
void write_new_file(const std::string &path, std::string_view data, unsigned mode = 0644);
// Writes data over the start of path (made if missing) and cuts it there, in place: for a
// hint whose reader checks what it reads, so that a torn write costs nothing. On ext4 it
// avoids what an atomic replace costs: a new inode, the flush of its data that ext4 forces
// when a rename replaces a file, and the old one's eviction (a discard with -o discard).
void overwrite_file(const std::string &path, std::string_view data, unsigned mode = 0644);

// An flock(2) on a lock file: the kernel drops it when the process dies, so a kill -9 never
// leaves a stale lock. Shared or exclusive; blocking, or try-only (check held()).
class FileLock {
public:
  enum class Mode { shared, exclusive };
  FileLock(const std::string &path, Mode mode, bool wait = true);
  bool held() const { return m_held; }
  // Switches mode (flock converts in place, though not atomically).
  void relock(Mode mode);
  void unlock();

private:
  Fd m_fd;
  std::string m_path;
  bool m_held = false;
};

// A scope guard holding undo steps, run in reverse order unless dismiss() was called, so a
// failure halfway leaves the host as it was. A failing step is reported as a warning.
class Rollback {
public:
  Rollback() = default;
  Rollback(const Rollback &) = delete;
  Rollback &operator=(const Rollback &) = delete;
  ~Rollback();
  void add(std::string what, std::function<void()> undo);
  void dismiss() { m_steps.clear(); }
  // Runs the undo steps now (before an _exit, which skips destructors).
  void run_now();

private:
  std::vector<std::pair<std::string, std::function<void()>>> m_steps;
};

} // namespace koker::sys
