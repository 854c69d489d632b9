// SPDX-License-Identifier: MIT
#include "runtime/attach_client.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/attach_socket.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/pty.hpp"
#include "store/container.hpp"
#include "store/container_log.hpp"
#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace koker::attach {

namespace {

// The signals docker attach --sig-proxy passes on (not SIGCHLD, SIGKILL, SIGSTOP; SIGWINCH is
// a window size instead).
constexpr int PROXIED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

std::string window_size_frame() {
  struct winsize ws {};
  if (::ioctl(0, TIOCGWINSZ, &ws) < 0)
    return {};
  std::string p = {static_cast<char>(ws.ws_row & 0xff), static_cast<char>(ws.ws_row >> 8),
                   static_cast<char>(ws.ws_col & 0xff), static_cast<char>(ws.ws_col >> 8)};
  return frame(RESIZE, p);
}

// The process the log follower's signal handler passes signals on to.
pid_t g_proxy_target = -1;
extern "C" void proxy_signal(int sig) {
  if (g_proxy_target > 0)
    ::kill(g_proxy_target, sig);
}

// Finds the detach keys in what the user types: bytes that could begin them are held back
// until the next ones say whether they do, then sent on if not (docker's escape proxy).
class DetachMatcher {
public:
  explicit DetachMatcher(std::string keys) : m_keys(std::move(keys)) {}
  // What to send of data; sets detached once the whole sequence was typed.
  std::string filter(std::string_view data, bool &detached) {
    std::string out;
    for (char ch : data) {
      if (m_keys.empty()) {
        out += ch;
        continue;
      }
      if (ch == m_keys[m_held.size()]) {
        m_held += ch;
        if (m_held.size() == m_keys.size()) {
          detached = true;
          return out;
        }
        continue;
      }
      out += m_held;
      m_held.clear();
      if (ch == m_keys[0])
        m_held += ch;
      else
        out += ch;
    }
    return out;
  }

private:
  std::string m_keys, m_held;
};

} // namespace

std::string parse_detach_keys(std::string_view spec) {
  std::string keys;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view key = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (key.size() == 1) {
      keys += key[0];
    } else if (key.size() == 6 && key.substr(0, 5) == "ctrl-") {
      char c = key[5];
      if (c >= 'a' && c <= 'z')
        keys += static_cast<char>(c - 'a' + 1);
      else if (c >= '@' && c <= '_' && !(c >= 'A' && c <= 'Z'))
        keys += static_cast<char>(c - '@');
      else
        fail("invalid detach key ", printable(key), ": ctrl- takes a-z, @, [, \\, ], ^ or _");
    } else {
      fail("invalid detach key ", printable(key), ": a single character or ctrl-X");
    }
  }
  return keys;
}

std::optional<int> relay(int sock, const ClientOptions &o) {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGWINCH);
  if (o.sig_proxy && !o.tty) // with a tty, ctrl-C is a byte the container's terminal reads
    for (int sig : PROXIED)
      ::sigaddset(&set, sig);
  check(::sigprocmask(SIG_BLOCK, &set, nullptr), "unable to block signals");
  Fd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd)
    sys_fail("unable to create a signalfd");
  bool raw_wanted = o.tty && o.stdin && ::isatty(0);
  pty::RawMode raw(raw_wanted ? 0 : -1);
  if (o.tty && ::isatty(0))
    write_all(sock, window_size_frame());
  DetachMatcher detach(o.tty && o.stdin ? o.detach_keys : std::string());
  FrameReader in;
  bool stdin_open = o.stdin;
  for (;;) {
    struct pollfd fds[3] = {
        {sock, POLLIN, 0}, {sfd.get(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      sys_fail("unable to poll");
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        log::debug("the supervisor let go of this attacher");
        return std::nullopt;
      }
      in.feed(std::string_view(buf, static_cast<size_t>(n)));
      char type;
      std::string p;
      while (in.next(type, p)) {
        if (type == OUTPUT)
          sys::write_fd(1, p, "stdout");
        else if (type == EXIT)
          return static_cast<int>(u32_of(p));
      }
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH)
          write_all(sock, o.tty ? window_size_frame() : std::string());
        else
          write_all(sock, frame_u32(SIGNAL, static_cast<uint32_t>(sig)));
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        log::debug("stdin ended: say so to the supervisor");
        write_all(sock, frame(CLOSE_STDIN));
        stdin_open = false;
        continue;
      }
      bool detached = false;
      std::string data = detach.filter(std::string_view(buf, static_cast<size_t>(n)), detached);
      if (!data.empty())
        write_all(sock, frame(STDIN, data));
      if (detached) {
        log::debug("the detach keys: the container runs on");
        return std::nullopt;
      }
    }
  }
}

int attach_and_wait(const std::string &root, const std::string &id, int sock,
                    const ClientOptions &o) {
  if (sock >= 0) {
    if (auto code = relay(sock, o))
      return *code;
  } else {
    if (o.sig_proxy) {
      auto rec = container::load(root, id);
      g_proxy_target = rec ? rec->pid : -1;
      struct sigaction sa {};
      sa.sa_handler = proxy_signal;
      sa.sa_flags = SA_RESTART;
      for (int sig : PROXIED)
        ::sigaction(sig, &sa, nullptr);
    }
    log::debug("follow ", container::dir_of(root, id), "/container.log from its end");
    container_log::print(root, id, true, true);
  }
  auto now = container::load(root, id);
  if (!now)
    return 0; // removed when it exited (--rm): its code went with it
  auto end = lifecycle::settle(root, *now);
  return end && end->status == "exited" ? end->exit_code : 0;
}

} // namespace koker::attach
