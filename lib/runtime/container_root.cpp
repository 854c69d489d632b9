// SPDX-License-Identifier: MIT
#include "runtime/container_root.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "runtime/create.hpp"
#include "runtime/mounts.hpp"
#include "runtime/rootfs.hpp"
#include "store/store.hpp"
#include <cerrno>
#include <clocale>
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::container_root {
namespace {

bool running(const container::Record &rec) {
  return rec.status == "running" && container::process_alive(rec.pid, rec.pid_start);
}

Fd open_dir(const std::string &path) {
  log::debug("open ", path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    sys_fail("unable to open ", path);
  return fd;
}

Fd mount_private(const std::string &root, const container::Record &rec) {
  rootfs::Overlay o = create::overlay_of(store::Store(root), rec);
  // Never volatile here: the container's own mount after this one would be refused.
  o.volatile_upper = false;
  mounts::enter_private_namespace("the container's root is mounted for this process only");
  rootfs::mount_overlay(o);
  return open_dir(o.mount_point);
}

// A running container's root mount, cloned alone from inside its mount namespace, where it is
// (launch::Request's host_root_mount): a child joins the namespace through a pidfd checked
// against the recorded start time, clones the mount at its "/" without what is mounted on
// it (open_tree(OPEN_TREE_CLONE) without AT_RECURSIVE: no /proc, /dev, volumes or /etc binds,
// as docker export shows), and sends the detached copy back. The copy lives as long as the
// descriptor, whatever the container does meanwhile.
Fd clone_running_root(const container::Record &rec) {
  long pfd = ::syscall(SYS_pidfd_open, rec.pid, 0);
  if (pfd < 0 || !container::process_alive(rec.pid, rec.pid_start))
    fail("container ", rec.name, " stopped while koker opened its root");
  Fd pidfd(static_cast<int>(pfd));
  int sv[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "unable to create a socket pair");
  Fd mine(sv[0]), theirs(sv[1]);
  log::debug("fork; setns(pidfd of ", rec.pid, ", mnt); open_tree / OPEN_TREE_CLONE (the container's root alone)");
  pid_t pid = check(::fork(), "unable to fork");
  if (pid == 0) {
    mine.reset();
    if (::setns(pidfd.get(), CLONE_NEWNS) < 0)
      ::_exit(1);
    long fd = ::syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
      ::_exit(2);
    sys::send_fd(theirs.get(), static_cast<int>(fd));
    ::_exit(0);
  }
  theirs.reset();
  Fd root = sys::receive_fd(mine.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!root)
    fail("unable to open the root of container ", rec.name, WIFEXITED(status) && WEXITSTATUS(status) == 1
                                                           ? ": it stopped meanwhile"
                                                           : ": its root mount could not be cloned");
  return root;
}

} // namespace

Fd open_for_copy(const std::string &root, const container::Record &rec) {
  if (!running(rec))
    return mount_private(root, rec);
  Fd fd = open_dir(cat("/proc/", rec.pid, "/root"));
  // The PID could have been reused between the check and the open: check again after.
  if (!container::process_alive(rec.pid, rec.pid_start))
    fail("container ", rec.name, " stopped while koker opened its root");
  return fd;
}

Fd open_merged(const std::string &root, const container::Record &rec) {
  if (!running(rec))
    return mount_private(root, rec);
  std::string mount_point = container::dir_of(root, rec.id) + "/bundle/rootfs";
  if (sys::is_mount_point(mount_point)) // rootless koker's, or left on the host by an older koker
    return open_dir(mount_point);
  return clone_running_root(rec);
}

pid_t fork_in_root(int root_fd, const std::function<void()> &fn) {
  // libarchive switches to C.UTF-8 for names: load it now, from the host, not in the root.
  if (locale_t l = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(nullptr)))
    ::freelocale(l);
  log::debug("fork, then fchdir + chroot into the container's root");
  pid_t parent = ::getpid();
  pid_t pid = check(::fork(), "unable to fork");
  if (pid > 0)
    return pid;
  int code = 0;
  try {
    // Dies with the tool (kill -9 included): it holds the container's lock and its root.
    check(::prctl(PR_SET_PDEATHSIG, SIGKILL), "unable to set the parent-death signal");
    if (::getppid() != parent) // gone before the signal was set
      ::_exit(125);
    ::signal(SIGPIPE, SIG_DFL);
    check(::fchdir(root_fd), "unable to enter the container's root");
    check(::chroot("."), "unable to chroot into the container's root");
    check(::chdir("/"), "unable to chdir to / in the container's root");
    fn();
  } catch (const Error &e) {
    log::fatal(e.what());
    code = e.exit_code();
  } catch (const std::exception &e) {
    log::fatal(e.what());
    code = 125;
  }
  ::_exit(code);
}

std::string in_private_mount(const rootfs::Overlay &overlay,
                             const std::function<std::string(int root_fd)> &fn) {
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to create a pipe");
  Fd from_child(fds[0]), to_parent(fds[1]);
  pid_t parent = ::getpid();
  log::debug("fork: a child mounts the root in a mount namespace of its own and reads it");
  pid_t pid = check(::fork(), "unable to fork");
  if (pid == 0) {
    from_child.reset();
    // The reply: "0\n" and fn's result, or the Error's exit code, "\n" and its message.
    std::string reply;
    try {
      check(::prctl(PR_SET_PDEATHSIG, SIGKILL), "unable to set the parent-death signal");
      if (::getppid() != parent)
        ::_exit(125);
      mounts::enter_private_namespace("the root is mounted for this process only");
      rootfs::Overlay look = overlay;
      look.read_only = true;
      Fd root = rootfs::mount_overlay(look);
      reply = cat("0\n", fn(root.get()));
    } catch (const Error &e) {
      reply = cat(e.exit_code() ? e.exit_code() : 125, "\n", e.what());
    } catch (const std::exception &e) {
      reply = cat("125\n", e.what());
    }
    try {
      sys::write_fd(to_parent.get(), reply, "the pipe to koker");
    } catch (...) {
      ::_exit(125);
    }
    ::_exit(0);
  }
  to_parent.reset();
  std::string reply;
  try {
    reply = sys::read_fd(from_child.get(), 16 << 20, "the pipe from the child");
  } catch (...) {
    wait_child(pid);
    throw;
  }
  wait_child(pid);
  size_t nl = reply.find('\n');
  if (nl == std::string::npos)
    fail("unable to read the root of the new container: the child that mounted it died");
  int code = std::atoi(reply.substr(0, nl).c_str());
  if (code != 0)
    throw Error(reply.substr(nl + 1), code);
  return reply.substr(nl + 1);
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      sys_fail("unable to wait for process ", pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}

} // namespace koker::container_root
