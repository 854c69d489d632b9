// SPDX-License-Identifier: MIT
#include "store/container_log.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "store/container.hpp"
#include <poll.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::container_log {

namespace {
std::string numbered(const std::string &path, unsigned n) {
  return n == 0 ? path : cat(path, ".", n);
}
} // namespace

std::vector<std::string> files(const std::string &dir) {
  std::string path = dir + "/container.log";
  std::vector<std::string> out;
  // The rotated ones count from 1 up without a gap; the oldest is the highest.
  unsigned last = 0;
  while (sys::exists(numbered(path, last + 1)))
    ++last;
  for (unsigned n = last; n > 0; --n)
    out.push_back(numbered(path, n));
  if (sys::exists(path))
    out.push_back(path);
  return out;
}

Writer::Writer(std::string dir, Limits limits)
    : m_path(std::move(dir) + "/container.log"), m_limits(limits) {
  m_fd = Fd(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!m_fd)
    sys_fail("unable to open ", m_path);
  struct stat st;
  if (::fstat(m_fd.get(), &st) == 0)
    m_size = static_cast<uint64_t>(st.st_size);
}

void Writer::rotate() {
  if (m_limits.max_files <= 1) {
    // docker's max-file=1: the one file starts again.
    if (::ftruncate(m_fd.get(), 0) == 0) {
      m_size = 0;
      m_line_start = true;
    }
    return;
  }
  for (unsigned n = m_limits.max_files - 1; n > 0; --n)
    ::rename(numbered(m_path, n - 1).c_str(), numbered(m_path, n).c_str()); // a gap is fine
  Fd fresh(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fresh) {
    m_fd = std::move(fresh);
    m_size = 0;
    m_line_start = true;
  }
}

bool Writer::append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(m_fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false; // ENOSPC and friends: this output is lost, the container goes on
    m_size += static_cast<uint64_t>(n);
    m_line_start = data[static_cast<size_t>(n) - 1] == '\n';
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Writer::write(std::string_view data) {
  while (!data.empty()) {
    if (!m_limits.max_size || m_size + data.size() <= m_limits.max_size) {
      append(data);
      return;
    }
    // Too much for this file (a busy supervisor reads the pipe in chunks of up to 64 KiB):
    // the whole lines that fit go here, the rest to the next file. A file holds whole lines,
    // so the line under way (or, in an empty file, a first line longer than max_size) is
    // finished first: a file may pass max_size by that one line.
    size_t room = m_size < m_limits.max_size ? m_limits.max_size - m_size : 0;
    size_t last = data.substr(0, room).rfind('\n');
    size_t take = 0;
    if (last != data.npos) {
      take = last + 1;
    } else if (!m_line_start || m_size == 0) {
      size_t nl = data.find('\n');
      take = nl == data.npos ? data.size() : nl + 1;
    }
    if (take) {
      if (!append(data.substr(0, take)))
        return;
      data = data.substr(take);
      if (data.empty())
        return;
    }
    rotate();
    if (m_size > 0) // could not rotate: keep writing where we are
      return void(append(data));
  }
}

namespace {

// Copies what fd holds from its current offset to stdout; false when nothing was there.
bool copy_new(int fd) {
  bool any = false;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    out::text(std::string_view(buf, static_cast<size_t>(n)));
    any = true;
  }
  return any;
}

// True when the log at path is no longer the file fd reads: the supervisor rotated it (a new
// file). When it started the same file again (max-file=1: cut back below where fd is), fd
// goes back to its start.
bool rotated(int fd, const std::string &path) {
  struct stat ours, now;
  if (::fstat(fd, &ours) < 0 || ::stat(path.c_str(), &now) < 0)
    return false;
  if (ours.st_ino == now.st_ino && now.st_size < ::lseek(fd, 0, SEEK_CUR))
    ::lseek(fd, 0, SEEK_SET);
  return ours.st_ino != now.st_ino;
}

} // namespace

void print(const std::string &root, const std::string &id, bool from_end, bool follow) {
  std::string dir = container::dir_of(root, id);
  std::string path = dir + "/container.log";
  Fd fd;
  if (from_end) {
    fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd)
      ::lseek(fd.get(), 0, SEEK_END);
  } else {
    // The rotated files first, oldest first (--log-opt max-file), then the current one.
    for (const auto &file : files(dir)) {
      fd = Fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd && errno != ENOENT)
        sys_fail("unable to open ", file);
      if (fd)
        copy_new(fd.get());
    }
  }
  if (!follow)
    return;
  if (!fd || rotated(fd.get(), path))
    fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  for (;;) {
    // Checked before the last read, so nothing written just before the exit is lost.
    auto now = container::load(root, id);
    bool running = now && container::refresh(root, *now).status == "running";
    if (!fd || rotated(fd.get(), path))
      fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); // the new file, from its start
    bool got = fd && copy_new(fd.get());
    if (!running && !got)
      break;
    if (!got)
      ::poll(nullptr, 0, 100);
  }
}

} // namespace koker::container_log
