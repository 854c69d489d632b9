// SPDX-License-Identifier: MIT
// The kernel's cgroup files, read and written one value per write(2), and the group
// directories made and removed (Documentation/admin-guide/cgroup-v1/*.rst, cgroup-v2.rst).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::cgroup::detail {

bool holds(const Hierarchy &h, std::string_view controller) {
  return std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end() ||
         std::find(h.extra.begin(), h.extra.end(), controller) != h.extra.end();
}

bool is_dir(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// Each value goes in one write(2): the kernel parses each write on its own (devices.allow
// takes one rule per write), and one descriptor serves them all. Under a fake root the file
// is created, since a plain directory has none of the kernel's files, and reopened for each
// value, which replaces the last as the kernel's file would show only the effect.
void write_values(const std::string &path, const std::vector<std::string_view> &values,
                  bool fake) {
  Fd fd;
  for (auto v : values) {
    log::debug("write ", path, " ", v);
    if (!fd || fake) {
      fd = Fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | (fake ? O_CREAT : 0), 0644));
      if (!fd)
        sys_fail("unable to open ", path);
    }
    ssize_t n = ::write(fd.get(), v.data(), v.size());
    if (n < 0)
      sys_fail("unable to write ", v, " to ", path);
    if (static_cast<size_t>(n) != v.size())
      fail("unable to write ", v, " to ", path, ": short write");
  }
}

void write_value(const std::string &path, std::string_view value, bool fake) {
  write_values(path, {value}, fake);
}

std::optional<std::string> read_value(const std::string &path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT)
    return std::nullopt;
  if (!fd)
    sys_fail("unable to open ", path);
  // A group removed between the open and the read (its supervisor cleaning up as koker-stop
  // looks) answers ENODEV: gone, as if it had not been there.
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == ENODEV)
      return std::nullopt;
    if (n < 0)
      sys_fail("unable to read ", path);
    if (n == 0)
      break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 20))
      fail("unable to read ", path, ": more than 1 MiB");
  }
  return std::string(text::trim(text));
}

// A number from a cgroup file; "max" (v2, pids) is UNLIMITED.
std::optional<uint64_t> read_u64(const std::string &path) {
  auto text = read_value(path);
  if (!text)
    return std::nullopt;
  if (*text == "max")
    return UNLIMITED;
  return sys::parse_uint(*text);
}

// The value of KEY in a flat-keyed file such as memory.stat or memory.events ("KEY VALUE").
std::optional<uint64_t> read_key(const std::string &path, std::string_view key) {
  auto text = read_value(path);
  if (!text)
    return std::nullopt;
  for (const auto &line : text::fields(*text, '\n')) {
    auto words = text::fields(line, ' ');
    if (words.size() == 2 && words[0] == key)
      return sys::parse_uint(words[1]);
  }
  return std::nullopt;
}

// A group's own directory: one that exists already is someone else's, and refused.
void make_dir(const std::string &path) {
  log::debug("mkdir ", path);
  if (::mkdir(path.c_str(), 0755) == 0)
    return;
  if (errno == EEXIST)
    fail("unable to create cgroup ", path, ": it already exists");
  sys_fail("unable to create cgroup ", path);
}

// rmdir(2) is all a real cgroup needs; the kernel's files go with it. It fails with EBUSY for
// a moment after the last process died, so it is retried. A fake cgroup holds plain files.
void remove_dir(const std::string &path, bool fake) {
  if (fake)
    for (const auto &f : sys::list_dir(path))
      if (!is_dir(path + "/" + f))
        ::unlink((path + "/" + f).c_str());
  log::debug("rmdir ", path);
  for (int i = 0;; ++i) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT)
      return;
    if (errno != EBUSY || i == 100)
      sys_fail("unable to remove cgroup ", path);
    nap_ms(20);
  }
}

void remove_parents(const std::vector<std::string> &made, bool fake) {
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    const std::string &d = *it;
    if (fake) { // plain files stand for the kernel's; a subdirectory is a group still there
      if (!is_dir(d))
        continue;
      auto names = sys::list_dir(d);
      if (std::any_of(names.begin(), names.end(),
                      [&](const std::string &n) { return is_dir(d + "/" + n); }))
        continue;
      for (const auto &n : names)
        ::unlink((d + "/" + n).c_str());
    }
    log::debug("rmdir ", d, " (a parent made for the group, if empty)");
    // EBUSY: a group or process lives in it now. It stays, as runc leaves every parent.
    if (::rmdir(d.c_str()) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
      log::warn("unable to remove cgroup ", d, ": ", std::strerror(errno));
  }
}

// koker/ itself, shared by every group: made once, when missing.
void make_parent(const Hierarchy &h) {
  std::string parent = h.mount + "/koker";
  if (::mkdir(parent.c_str(), 0755) == 0)
    log::debug("mkdir ", parent);
  else if (errno != EEXIST)
    sys_fail("unable to create cgroup ", parent);
}

// Polls path until its value (or its KEY line) reads want, for up to a second.
bool wait_for(const std::string &path, std::string_view key, std::string_view want) {
  for (int i = 0; i < 100; ++i) {
    auto text = read_value(path);
    if (!text)
      return false;
    if (key.empty() ? *text == want : read_key(path, key) == sys::parse_uint(want))
      return true;
    nap_ms(10);
  }
  return false;
}

const Manager &manager(const Hierarchy &h) { return h.unified ? v2_manager() : v1_manager(); }

} // namespace koker::cgroup::detail
