// SPDX-License-Identifier: MIT
#include "runtime/pty.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace koker::pty {

Pty open(Fd ptmx) {
  check(::unlockpt(ptmx.get()), "unable to unlock the pty");
  int n = 0;
  check(::ioctl(ptmx.get(), TIOCGPTN, &n), "unable to name the pty");
  return {std::move(ptmx), cat("/dev/pts/", n)};
}

void attach(const std::string &slave) {
  log::debug("open ", slave, "; ioctl TIOCSCTTY; dup2 onto 0, 1 and 2");
  Fd tty(::open(slave.c_str(), O_RDWR | O_CLOEXEC));
  if (!tty)
    sys_fail("unable to open ", slave);
  check(::ioctl(tty.get(), TIOCSCTTY, 0), "unable to make ", slave, " the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    check(::dup2(tty.get(), fd), "unable to attach ", slave);
}

Fd connect_console(const std::string &path) {
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (!sock || path.size() >= sizeof addr.sun_path)
    fail("unable to use the console socket ", path);
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  log::debug("connect ", path);
  check(::connect(sock.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr),
        "unable to connect to the console socket ", path);
  return sock;
}

RawMode::RawMode(int fd) : m_fd(fd) {
  if (fd < 0 || !::isatty(fd) || ::tcgetattr(fd, &m_saved) < 0)
    return;
  struct termios raw = m_saved;
  ::cfmakeraw(&raw);
  m_active = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawMode::~RawMode() {
  if (m_active)
    ::tcsetattr(m_fd, TCSANOW, &m_saved);
}

void copy_window_size(int master) {
  struct winsize ws;
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0)
    ::ioctl(master, TIOCSWINSZ, &ws);
}

} // namespace koker::pty
