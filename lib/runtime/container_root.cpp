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
  store::Store store(root);
  auto img = store.find_image(rec.image_id);
  if (!img)
    fail("unable to mount the file system of container ", rec.name, ": its image ", rec.image_id,
         " is gone");
  std::string dir = container::dir_of(root, rec.id);
  mounts::enter_private_namespace("the container's root is mounted for this process only");
  rootfs::Overlay o;
  o.mount_point = dir + "/bundle/rootfs";
  o.layers_dir = root + "/layers";
  o.lower = create::lower_layers(store, *img);
  o.upper = dir + "/upper";
  o.work = dir + "/work";
  rootfs::mount_overlay(o);
  return open_dir(o.mount_point);
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
  return open_dir(container::dir_of(root, rec.id) + "/bundle/rootfs");
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

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      sys_fail("unable to wait for process ", pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}

} // namespace koker::container_root
