// SPDX-License-Identifier: MIT
#include "runtime/supervise.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "runtime/attach_server.hpp"
#include "runtime/pty.hpp"
#include <cerrno>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vector>

namespace koker::supervise {

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT})
    sigaddset(&set, sig);
  return set;
}

void block_signals() {
  sigset_t set = forwarded_signals();
  sigaddset(&set, SIGCHLD);
  check(::sigprocmask(SIG_BLOCK, &set, nullptr), "unable to block signals");
}

int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 125;
}

namespace {

void copy_winsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0)
    ::ioctl(to, TIOCSWINSZ, &ws);
}

// Moves what is readable on from to to (to sink, when set); false at EOF or error.
bool pump(int from, int to, const Sink &sink = {}) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  if (sink) {
    sink(std::string_view(buf, static_cast<size_t>(n)));
    return true;
  }
  for (ssize_t done = 0; done < n;) {
    ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return false;
    done += w;
  }
  return true;
}

} // namespace

int wait_for(pid_t pid, int master_fd, bool interactive, const Sink &sink, attach::Server *server) {
  sigset_t set = forwarded_signals();
  sigaddset(&set, SIGCHLD);
  Fd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd)
    sys_fail("unable to create a signalfd");
  pty::RawMode raw(master_fd >= 0 && interactive ? 0 : -1);
  if (master_fd >= 0)
    copy_winsize(0, master_fd);
  bool stdin_open = master_fd >= 0 && interactive;
  bool master_open = master_fd >= 0;
  int status = 0;
  std::vector<struct pollfd> fds;
  for (;;) {
    fds = {{sfd.get(), POLLIN, 0},
           {master_open ? master_fd : -1, POLLIN, 0},
           {stdin_open ? 0 : -1, POLLIN, 0}};
    if (server)
      server->poll_fds(fds);
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      sys_fail("unable to poll");
    }
    if (server) // first: an attacher that just came gets all the output read below
      server->handle(&fds[3]);
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
      master_open = pump(master_fd, 1, sink);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
      stdin_open = pump(0, master_fd);
    if (!(fds[0].revents & POLLIN))
      continue;
    struct signalfd_siginfo si;
    if (::read(sfd.get(), &si, sizeof si) != sizeof si)
      continue;
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGWINCH && master_fd >= 0) {
      copy_winsize(0, master_fd);
      continue;
    }
    if (sig != SIGCHLD) {
      log::debug("kill ", pid, " ", sig, " (forwarded)");
      ::kill(pid, sig);
      continue;
    }
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
  }
  // The container is gone: drain what its pty still holds.
  while (master_open) {
    struct pollfd p = {master_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      break;
    master_open = pump(master_fd, 1, sink);
  }
  return exit_code(status);
}

} // namespace koker::supervise
