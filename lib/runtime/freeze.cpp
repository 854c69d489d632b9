// SPDX-License-Identifier: MIT
#include "runtime/freeze.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::freeze {
namespace {

// The watchdog: blocks on the pipe until the freezer writes "done" or dies (EOF). On EOF
// alone the freezer was killed mid-way: thaw. Signals a terminal or `kill` sends to the whole
// process group are ignored, so a Ctrl-C of the commit still thaws; only a SIGKILL of the
// watchdog too (kill -9 of the group) leaves the container frozen, and `koker unpause` thaws
// it (lifecycle::pause thaws a frozen group whatever the record says).
[[noreturn]] void watch(int fd, cgroup::Group &group) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE})
    std::signal(sig, SIG_IGN);
  char c = 0;
  ssize_t n;
  do
    n = ::read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n == 1 && c == 'd')
    ::_exit(0);
  try {
    group.freeze(false);
  } catch (...) {
    ::_exit(1);
  }
  ::_exit(0);
}

} // namespace

Guard::Guard(const std::string &root, const container::Record &rec) : m_name(rec.name) {
  container::Record now = container::refresh(root, rec);
  if (now.status != "running" || now.paused) {
    log::debug("container ", now.name, " is ", now.paused ? "paused" : now.status,
               ": nothing to freeze");
    return;
  }
  auto group = cgroup::Group::open(now.id, now.cgroup_parent);
  if (!group) {
    log::debug("container ", now.name, " has no cgroup: nothing to freeze");
    return;
  }
  if (group->frozen()) {
    log::debug("container ", now.name, " is frozen already");
    return;
  }
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to create a pipe");
  Fd read_end(fds[0]);
  m_pipe.reset(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0)
    sys_fail("unable to fork the thaw watchdog");
  if (pid == 0) {
    m_pipe.reset();
    watch(read_end.get(), *group);
  }
  m_watchdog = pid;
  log::debug("fork -> pid ", pid, ": thaws ", now.id.substr(0, 12),
             " should this process die while it is frozen");
  m_group = std::move(group);
  log::debug("freeze the cgroup of ", now.id.substr(0, 12));
  try {
    m_group->freeze(true);
  } catch (...) {
    release();
    throw;
  }
}

void Guard::release() {
  if (m_group) {
    log::debug("thaw the cgroup of ", m_name);
    try {
      m_group->freeze(false);
    } catch (const std::exception &e) {
      log::warn("unable to thaw container ", m_name, ": ", e.what(), " (koker unpause ", m_name,
                " thaws it)");
    }
    m_group.reset();
  }
  if (m_watchdog > 0) {
    ssize_t n = ::write(m_pipe.get(), "d", 1);
    (void)n; // EOF alone makes the watchdog thaw again: harmless
    m_pipe.reset();
    int status;
    while (::waitpid(m_watchdog, &status, 0) < 0 && errno == EINTR) {
    }
    m_watchdog = -1;
  }
}

Guard::~Guard() { release(); }

} // namespace koker::freeze
