// SPDX-License-Identifier: MIT
#include "runtime/init.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/mounts.hpp"
#include "runtime/pty.hpp"
#include "runtime/start_report.hpp"
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace koker::init {

namespace {

// One byte from koker-run: which is the step the child waits for.
void wait_for_parent(int sync_fd, char want) {
  char got = 0;
  if (::read(sync_fd, &got, 1) != 1 || got != want)
    fail("koker-run went away before the container started");
}

// Opens ping sockets to every group, as podman does, so ping works without CAP_NET_RAW.
void open_ping_range(int root) {
  Fd f = mounts::open_in_root(root, "/proc/sys/net/ipv4/ping_group_range",
                              mounts::Follow::no_symlinks, O_WRONLY);
  log::debug("write /proc/sys/net/ipv4/ping_group_range 0 2147483647");
  sys::write_fd(f.get(), "0 2147483647", "/proc/sys/net/ipv4/ping_group_range");
}

// A new network namespace starts with lo down; the container's own set-up brings it up, for
// every network mode (koker-net attach adds only eth0).
void loopback_up() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s)
    sys_fail("unable to open a socket to configure lo");
  struct ifreq ifr {};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
  check(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), "unable to read the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  log::debug("ip link set lo up");
  check(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "unable to bring lo up");
}

// Allocates the container's pty from its own devpts instance, binds the pts over /dev/console
// and sends the master to koker-run (runc's console socket). Returns the pts's path.
std::string make_console(int root, int console_fd) {
  pty::Pty p = pty::open(mounts::open_in_root(root, "/dev/pts/ptmx", mounts::Follow::no_symlinks,
                                              O_RDWR | O_NOCTTY));
  Fd slave = mounts::open_in_root(root, p.slave, mounts::Follow::no_symlinks, O_RDWR | O_NOCTTY);
  Fd console = mounts::make_file_in_root(root, "/dev/console", 0600);
  mounts::mount(mounts::fd_path(slave.get()), mounts::fd_path(console.get()), nullptr, MS_BIND);
  log::debug("send the pty master to koker-run (SCM_RIGHTS); bind ", p.slave, " on /dev/console");
  sys::send_fd(console_fd, p.master.get());
  char byte;
  // koker-run sizes the pty before the command can ask for its size.
  if (::read(console_fd, &byte, 1) != 1)
    fail("koker-run went away while the pty was set up");
  return p.slave;
}

// The container's standard descriptors: the pty with -t; else stdin from /dev/null unless
// -i, and with -d the log file as stdout and stderr.
void set_stdio(const Spec &spec, const std::string &pts) {
  if (spec.tty) {
    // The pts itself, not /dev/console, so that tty(1) names /dev/pts/N as with runc.
    pty::attach(pts);
    return;
  }
  if (!spec.interactive) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null || ::dup2(null.get(), 0) < 0)
      sys_fail("unable to redirect stdin from the container's /dev/null");
  }
  if (spec.output_fd >= 0)
    for (int fd : {1, 2})
      check(::dup2(spec.output_fd, fd), "unable to send the output to the log");
}

void setup_and_exec(const Spec &spec, int sync_fd, int report_fd, int console_fd,
                    const std::function<void()> &on_go) {
  // CVE-2019-5736/2016-9962: nothing in the container may open or ptrace this process
  // through /proc while it still runs koker's code.
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "unable to make the process non-dumpable");
  if (spec.process.die_with_parent)
    check(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "unable to set the parent-death signal");

  // Nothing mounted from here on may propagate back to the host (mount_namespaces(7)).
  mounts::mount("", "/", nullptr, MS_SLAVE | MS_REC);
  Fd root = rootfs::mount_overlay(spec.overlay);
  rootfs::mount_kernel_files(root.get());
  // koker-run writes these files while this process mounts the rest.
  wait_for_parent(sync_fd, 'e');
  rootfs::bind_etc_files(root.get(), spec.etc_dir);
  rootfs::bind_volumes(root.get(), spec.volumes);
  if (spec.own_net)
    open_ping_range(root.get());
  rootfs::mask_paths(root.get());
  std::string pts = spec.tty ? make_console(root.get(), console_fd) : "";
  if (console_fd >= 0)
    ::close(console_fd);
  if (spec.read_only)
    mounts::mount("", spec.overlay.mount_point, nullptr, MS_REMOUNT | MS_RDONLY | MS_BIND);
  root.reset();
  mounts::pivot_root(spec.overlay.mount_point);

  if (spec.own_uts) {
    log::debug("sethostname ", spec.hostname);
    check(::sethostname(spec.hostname.data(), spec.hostname.size()), "unable to set the hostname");
  }
  if (spec.own_net)
    loopback_up();
  check(::setsid(), "unable to start a session");
  set_stdio(spec, pts);

  // The root is ready; the command may run only once koker-run has made the cgroups and
  // plugged the network. Waiting here, not earlier, lets both sides work at the same time.
  wait_for_parent(sync_fd, 'g');
  ::close(sync_fd);
  if (on_go)
    on_go(); // joins the cgroups
  process::exec(spec.process, report_fd);
}

} // namespace

void run(const Spec &spec, int sync_fd, int report_fd, int console_fd,
         const std::function<void()> &on_go) {
  try {
    setup_and_exec(spec, sync_fd, report_fd, console_fd, on_go);
  } catch (...) {
    start_report::send_current(report_fd);
  }
  ::_exit(process::exit_setup);
}

} // namespace koker::init
