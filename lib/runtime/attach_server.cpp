// SPDX-License-Identifier: MIT
#include "runtime/attach_server.hpp"
#include "base/log.hpp"
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

namespace koker::attach {

namespace {

// What a slow attacher or a container that reads no stdin may leave waiting here; past it the
// attacher is let go, or the input dropped, rather than the supervisor growing without end.
constexpr size_t MAX_BUFFERED = 4 << 20;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Sends what fits now; false when the peer is gone.
bool send_some(int fd, std::string &buf) {
  while (!buf.empty()) {
    ssize_t n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN;
    buf.erase(0, static_cast<size_t>(n));
  }
  return true;
}

} // namespace

void Server::begin_run(pid_t pid, int master, Fd stdin_pipe, bool stdin_once) {
  m_pid = pid;
  m_master = master;
  m_pipe = std::move(stdin_pipe);
  m_stdin_once = stdin_once;
  m_pending.clear();
  for (int fd : {m_master, m_pipe.get()})
    if (fd >= 0)
      set_nonblocking(fd);
}

void Server::poll_fds(std::vector<struct pollfd> &fds) {
  fds.push_back({m_listener.get(), POLLIN, 0});
  for (const Client &c : m_clients)
    fds.push_back({c.fd.get(), static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
  m_polled = m_clients.size();
  int target = m_pipe ? m_pipe.get() : m_master;
  fds.push_back({m_pending.empty() ? -1 : target, POLLOUT, 0});
}

void Server::handle(const struct pollfd *fds) {
  bool accept_now = fds[0].revents & POLLIN;
  auto it = m_clients.begin();
  for (size_t i = 0; i < m_polled && it != m_clients.end(); ++i) {
    short ev = fds[1 + i].revents;
    bool gone = false;
    if (ev & POLLOUT)
      gone = !send_some(it->fd.get(), it->out);
    if (!gone && (ev & (POLLIN | POLLHUP | POLLERR))) {
      char buf[16384];
      ssize_t n = ::recv(it->fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        it->in.feed(std::string_view(buf, static_cast<size_t>(n)));
        from_client(*it);
        gone = !it->fd;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        gone = true;
      }
    }
    if (gone) {
      log::debug("an attacher left");
      it = m_clients.erase(it);
    } else {
      ++it;
    }
  }
  if (fds[1 + m_polled].revents)
    flush_stdin();
  // Last: an attacher that connected before the container ran (koker-start -a) is in before
  // any of its output is read, so it misses none.
  if (accept_now)
    accept_all();
}

void Server::accept_all() {
  for (;;) {
    Fd c(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c)
      return;
    log::debug("an attacher connected");
    m_clients.push_back(Client{std::move(c), {}, {}});
  }
}

void Server::from_client(Client &c) {
  char type;
  std::string p;
  while (c.fd && c.in.next(type, p)) {
    switch (type) {
    case STDIN:
      to_stdin(p);
      break;
    case RESIZE:
      if (m_master >= 0 && p.size() == 4) {
        struct winsize ws {};
        ws.ws_row = static_cast<unsigned short>(static_cast<unsigned char>(p[0]) |
                                                static_cast<unsigned char>(p[1]) << 8);
        ws.ws_col = static_cast<unsigned short>(static_cast<unsigned char>(p[2]) |
                                                static_cast<unsigned char>(p[3]) << 8);
        ::ioctl(m_master, TIOCSWINSZ, &ws); // the kernel sends SIGWINCH to the foreground
      }
      break;
    case SIGNAL:
      if (int sig = static_cast<int>(u32_of(p)); m_pid > 0 && sig > 0 && sig < NSIG) {
        log::debug("kill ", m_pid, " ", sig, " (from an attacher)");
        ::kill(m_pid, sig);
      }
      break;
    case CLOSE_STDIN:
      // docker: with StdinOnce the first attacher's end of input ends the container's stdin;
      // otherwise its attach ends, and stdin stays open for the next one.
      if (m_stdin_once && m_pipe)
        close_stdin();
      else
        c.fd.reset();
      break;
    default:
      c.fd.reset(); // not koker's protocol
    }
  }
}

void Server::to_stdin(std::string_view data) {
  if (!m_pipe && m_master < 0)
    return;
  if (m_pending.size() + data.size() > MAX_BUFFERED) {
    log::debug("the container reads no stdin: ", data.size(), " bytes dropped");
    return;
  }
  m_pending.append(data);
  flush_stdin();
}

void Server::flush_stdin() {
  int target = m_pipe ? m_pipe.get() : m_master;
  while (!m_pending.empty() && target >= 0) {
    ssize_t n = ::write(target, m_pending.data(), m_pending.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n < 0) { // EPIPE: the container closed its stdin
      m_pending.clear();
      m_pipe.reset();
      return;
    }
    m_pending.erase(0, static_cast<size_t>(n));
  }
  if (m_pending.empty() && m_closing)
    m_pipe.reset();
}

void Server::close_stdin() {
  log::debug("close the container's stdin (StdinOnce)");
  m_closing = true;
  flush_stdin();
}

void Server::output(std::string_view data) {
  for (auto it = m_clients.begin(); it != m_clients.end();) {
    if (it->out.size() + data.size() > MAX_BUFFERED) {
      log::debug("an attacher reads too slowly: let go");
      it = m_clients.erase(it);
      continue;
    }
    it->out += frame(OUTPUT, data);
    if (!send_some(it->fd.get(), it->out))
      it = m_clients.erase(it);
    else
      ++it;
  }
}

void Server::end_run(int code) {
  for (Client &c : m_clients) {
    c.out += frame_u32(EXIT, static_cast<uint32_t>(code));
    // Blocking now, for a second at most each: the code must arrive.
    ::fcntl(c.fd.get(), F_SETFL, ::fcntl(c.fd.get(), F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {1, 0};
    ::setsockopt(c.fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    write_all(c.fd.get(), c.out);
  }
  m_clients.clear();
  m_pipe.reset();
  m_master = -1;
  m_pid = -1;
  m_closing = false;
}

} // namespace koker::attach
