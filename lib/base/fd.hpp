// SPDX-License-Identifier: MIT
#pragma once
#include <unistd.h>
#include <utility>

namespace koker {

// A move-only owner of a file descriptor; closes it on destruction.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd &&o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Fd &operator=(Fd &&o) noexcept {
    if (this != &o)
      reset(std::exchange(o.m_fd, -1));
    return *this;
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }

  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  int release() { return std::exchange(m_fd, -1); }
  void reset(int fd = -1) {
    if (m_fd >= 0)
      ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

} // namespace koker
