// SPDX-License-Identifier: MIT
#include "runtime/attach_socket.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace koker::attach {

namespace {

constexpr const char *NAME = "attach";

// A store under a long --root gives a path past sun_path's 108 bytes: the socket is named
// through an O_PATH descriptor of its directory instead (/proc/self/fd/N/attach), as conmon
// names its own.
class Address {
public:
  explicit Address(const std::string &dir)
      : m_dir(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {
    if (!m_dir)
      sys_fail("unable to open ", dir);
    std::string path = cat("/proc/self/fd/", m_dir.get(), "/", NAME);
    m_addr.sun_family = AF_UNIX;
    path.copy(m_addr.sun_path, sizeof m_addr.sun_path - 1);
  }
  const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&m_addr); }
  socklen_t size() const { return sizeof m_addr; }

private:
  Fd m_dir;
  struct sockaddr_un m_addr {};
};

} // namespace

std::string frame(Frame type, std::string_view payload) {
  std::string f(5, '\0');
  f[0] = type;
  auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i)
    f[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return f.append(payload);
}

std::string frame_u32(Frame type, uint32_t value) {
  std::string v(4, '\0');
  for (int i = 0; i < 4; ++i)
    v[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return frame(type, v);
}

uint32_t u32_of(std::string_view p) {
  if (p.size() < 4)
    return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

bool FrameReader::next(char &type, std::string &payload) {
  if (m_buf.size() < 5)
    return false;
  uint32_t n = u32_of(std::string_view(m_buf).substr(1, 4));
  if (m_buf.size() - 5 < n)
    return false;
  type = m_buf[0];
  payload = m_buf.substr(5, n);
  m_buf.erase(0, 5 + n);
  return true;
}

Fd listen(const std::string &dir) {
  Address addr(dir);
  std::string shown = dir + "/" + NAME;
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock)
    sys_fail("unable to create the attach socket ", shown);
  ::unlink(shown.c_str());
  log::debug("bind and listen on ", shown, " (0600)");
  // 0600 from the start: no moment where another user could connect
  mode_t old = ::umask(0177);
  int rc = ::bind(sock.get(), addr.get(), addr.size());
  ::umask(old);
  check(rc, "unable to bind the attach socket ", shown);
  check(::listen(sock.get(), 16), "unable to listen on the attach socket ", shown);
  return sock;
}

Fd connect(const std::string &dir) {
  Address addr(dir);
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock)
    sys_fail("unable to create a socket");
  log::debug("connect ", dir, "/", NAME);
  if (::connect(sock.get(), addr.get(), addr.size()) == 0)
    return sock;
  if (errno == ENOENT || errno == ECONNREFUSED)
    return Fd();
  sys_fail("unable to connect to ", dir, "/", NAME);
}

void remove(const std::string &dir) { ::unlink((dir + "/" + NAME).c_str()); }

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

} // namespace koker::attach
