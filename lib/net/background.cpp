// SPDX-License-Identifier: MIT
// The long-lived helpers koker-net starts for a network (the resolver) or a container (the
// [::1] proxy): no daemon of koker's runs them, so each is a koker-net of its own, detached
// from the tool that needed it.
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/sys.hpp"
#include "net/detail.hpp"
#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::net::detail {

void leave_private_mount_namespace() {
  struct stat ours, init;
  if (::stat("/proc/self/ns/mnt", &ours) < 0 || ::stat("/proc/1/ns/mnt", &init) < 0 ||
      ours.st_ino == init.st_ino)
    return;
  int fd = ::open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::setns(fd, CLONE_NEWNS) == 0)
      (void)::chdir("/");
    ::close(fd);
  }
}

bool start_background(std::vector<std::string> args, const char *ready_env,
                      const std::vector<int> &keep, const std::string &log_path) {
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-net";
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0)
    sys_fail("unable to make a pipe");
  Fd rd(pipefd[0]), wr(pipefd[1]);
  pid_t child = ::fork();
  if (child < 0)
    sys_fail("unable to fork");
  if (child == 0) {
    // A session of its own, reparented to init by the middle process's exit: no tool waits
    // for it, and it holds no terminal.
    ::setsid();
    if (::fork() != 0)
      ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    if (!log_path.empty()) {
      int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
      ::dup2(logfd >= 0 ? logfd : null, 2);
    }
    // Nothing else of the caller's: a pipe a shell reads to its end (a command substitution,
    // Bats' fd 3) must not stay open for the helper's life.
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != wr.get() && std::find(keep.begin(), keep.end(), fd) == keep.end())
        ::close(fd);
    leave_private_mount_namespace();
    ::fcntl(wr.get(), F_SETFD, 0);
    for (int fd : keep)
      ::fcntl(fd, F_SETFD, 0);
    std::string fd_text = std::to_string(wr.get());
    ::setenv(ready_env, fd_text.c_str(), 1);
    std::vector<char *> argv;
    for (auto &w : args)
      argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  wr.reset();
  int status = 0;
  ::waitpid(child, &status, 0);
  pollfd p{rd.get(), POLLIN, 0};
  char c = 0;
  return ::poll(&p, 1, 5000) > 0 && ::read(rd.get(), &c, 1) == 1;
}

} // namespace koker::net::detail
