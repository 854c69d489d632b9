// SPDX-License-Identifier: MIT
#include "runtime/oci_exec.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/caps.hpp"
#include "runtime/clone.hpp"
#include "runtime/oci_cgroup.hpp"
#include "runtime/oci_process.hpp"
#include "runtime/oci_runtime.hpp"
#include "runtime/oci_seccomp.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/oci_state.hpp"
#include "runtime/process.hpp"
#include "runtime/pty.hpp"
#include "runtime/start_report.hpp"
#include "runtime/supervise.hpp"
#include "store/container.hpp"
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::oci {

namespace {

uint32_t parse_id(const std::string &text, const char *what) {
  auto n = sys::parse_uint(text);
  if (!n || *n > 0xfffffffeULL)
    fail("parsing ", printable(text), " as int for ", what, " failed");
  return static_cast<uint32_t>(*n);
}

// runc's getProcess: --process as given, else the container's own process with the command
// and the flags on top.
Process make_process(const ExecOptions &o, const Spec &spec) {
  if (!o.process_file.empty())
    return parse_process(sys::read_file(o.process_file, 16 << 20), o.process_file);
  Process p = spec.process;
  p.args = o.args;
  if (!o.cwd.empty())
    p.cwd = o.cwd;
  for (const auto &name : o.caps) {
    auto cap = caps::from_name(name);
    if (!cap)
      fail("unknown capability ", printable(name));
    caps::Set bit = caps::Set(1) << *cap;
    p.caps.bounding |= bit;
    p.caps.effective |= bit;
    p.caps.permitted |= bit;
    // An ambient capability needs an inheritable one: runc adds it only when the config has
    // an inheritable set.
    if (p.caps.inheritable)
      p.caps.ambient |= bit;
  }
  for (const auto &e : o.env) {
    if (e.empty() || e[0] == '=' || e.find('=') == std::string::npos)
      fail("invalid environment variable ", printable(e), " (K=V)");
    process::set_env(p.env, e);
  }
  p.terminal = o.tty.value_or(false);
  if (o.no_new_privs)
    p.no_new_privileges = true;
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    if (colon != std::string::npos)
      p.user.gid = parse_id(o.user.substr(colon + 1), "gid");
    p.user.uid = parse_id(o.user.substr(0, colon), "uid");
  }
  for (uint32_t gid : o.additional_gids)
    p.user.additional_gids.push_back(gid);
  return p;
}

// This process's mount namespace and working directory, returned to once the process is
// forked: the pid file, the console socket, the --log file and cgroup.procs are host paths.
class HostMount {
public:
  HostMount()
      : m_ns(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)),
        m_cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) {
    if (!m_ns)
      sys_fail("unable to open /proc/self/ns/mnt");
  }
  HostMount(const HostMount &) = delete;
  HostMount &operator=(const HostMount &) = delete;
  ~HostMount() {
    try {
      restore();
    } catch (const std::exception &e) {
      // Nothing may be written through a host path from inside the container.
      log::fatal(e.what());
      ::_exit(255);
    }
  }
  void left() { m_left = true; }
  void restore() {
    if (!m_left)
      return;
    m_left = false;
    log::debug("setns(the host's mount namespace)");
    check(::setns(m_ns.get(), CLONE_NEWNS), "unable to return to the host's mount namespace");
    if (m_cwd && ::fchdir(m_cwd.get()) < 0)
      log::debug("unable to return to the working directory");
  }

private:
  Fd m_ns, m_cwd;
  bool m_left = false;
};

void change_dir(const std::string &cwd) {
  if (cwd.empty() || cwd[0] != '/')
    fail("cwd property must be an absolute path: ", printable(cwd));
  if (::chdir(cwd.c_str()) < 0)
    sys_fail("chdir to cwd (\"", printable(cwd), "\") set in config.json failed");
  // CVE-2024-21626: the working directory must be inside the container's root.
  char buf[4096];
  if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
    fail("the working directory ", printable(cwd), " is outside the container");
}

struct Child {
  const Process *p;
  const seccomp::Filter *filter;
  const cgroup::Seed *seed;
  std::string cgroup_name; // empty: no group to join
  std::string chroot_dir;  // the container has no mount namespace of its own
  std::string pts;         // the pty's slave, as the container sees it
  int preserve_fds = 0, go = -1, report = -1;
};

// The process's side, from fork to execve: the v1 cgroups, a session and its terminal, then
// oci_init's order: rlimits, cwd, descriptors, seccomp (before the identity without
// no_new_privs, as runc), ids and capabilities, no_new_privs and seccomp last.
[[noreturn]] void run_child(const Child &c) {
  const Process &p = *c.p;
  try {
    char byte = 0;
    if (::read(c.go, &byte, 1) != 1 || byte != 'g')
      fail("koker-oci went away");
    ::close(c.go);
    if (!c.cgroup_name.empty())
      cgroup::join_self(*c.seed, c.cgroup_name);
    if (!c.chroot_dir.empty()) {
      check(::chroot(c.chroot_dir.c_str()), "unable to chroot to ", c.chroot_dir);
      check(::chdir("/"), "unable to chdir to /");
    }
    check(::setsid(), "unable to start a session");
    if (!c.pts.empty())
      pty::attach(c.pts);
    apply_limits(p);
    change_dir(p.cwd);
    // Every descriptor of koker's closes on exec; 3 .. 2+N are the caller's to pass on.
    check(static_cast<int>(
              ::syscall(SYS_close_range, 3 + c.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC)),
          "unable to mark descriptors close-on-exec");
    if (!p.no_new_privileges && !c.filter->prog.empty())
      seccomp::load(*c.filter);
    set_identity(p);
    if (p.no_new_privileges) {
      check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "unable to set no_new_privs");
      if (!c.filter->prog.empty())
        seccomp::load(*c.filter);
    }
    ::umask(p.user.umask.value_or(022));
    process::reset_signals();
  } catch (...) {
    ::_exit(start_report::send_current(c.report));
  }
  process::exec_command(p.args, p.env, c.report);
}

} // namespace

int exec(const ExecOptions &o) {
  State st = get(o.root, o.id);
  std::string s = status(o.root, st);
  if (s == "stopped")
    fail("cannot exec in a stopped container");
  if (s == "paused" && !o.ignore_paused)
    fail("cannot exec in a paused container (use --ignore-paused to override)");
  std::string config_path = st.bundle + "/config.json";
  Spec spec = parse_spec(sys::read_file(config_path, 16 << 20), config_path);
  Process p = make_process(o, spec);
  if (p.args.empty())
    fail("args must not be empty");
  if (p.terminal && o.detach && o.console_socket.empty())
    fail("cannot allocate tty if runc will detach without setting console socket");
  if (!p.terminal && !o.console_socket.empty())
    fail("cannot use console socket if runc will not allocate tty");
  seccomp::Filter filter;
  if (spec.seccomp)
    filter = build_filter(*spec.seccomp);
  Fd console = p.terminal && !o.console_socket.empty() ? pty::connect_console(o.console_socket) : Fd();

  // CVE-2016-9962: nothing in the container may ptrace or open this process once it enters.
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "unable to make the process non-dumpable");
  // Opened now: the groups' paths are the host's. Only the new process joins, not koker-oci:
  // clone3 starts it in the unified group and it moves itself into the v1 ones.
  std::optional<cgroup::Group> group = open_group(o.root, st);
  cgroup::Seed seed;
  if (group)
    seed = group->seed();

  long pfd = ::syscall(SYS_pidfd_open, st.pid, 0);
  if (pfd < 0 || !container::process_alive(st.pid, st.pid_start))
    fail("cannot exec in a stopped container");
  Fd pidfd(static_cast<int>(pfd));
  int flags = clone::namespaces_to_join(st.pid);
  HostMount host;
  log::debug("setns(pidfd of ", st.pid, ", ", clone::flags_string(static_cast<unsigned>(flags)),
             ")");
  if (flags & CLONE_NEWNS)
    host.left();
  if (flags && ::setns(pidfd.get(), flags) < 0) {
    if (errno == ESRCH)
      fail("cannot exec in a stopped container");
    sys_fail("unable to join the namespaces of the container's init");
  }
  // setns(CLONE_NEWNS) put this process at the root of the container's mount namespace (the
  // init pivoted into it); without one, the child chroots.
  std::string chroot_dir = flags & CLONE_NEWNS ? "" : st.rootfs;

  pty::Pty terminal;
  bool relay = p.terminal && !console;
  if (p.terminal) {
    // The container's own devpts, as its init has: the pts exists inside.
    std::string ptmx = chroot_dir + "/dev/pts/ptmx";
    Fd fd(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!fd)
      sys_fail("unable to open /dev/pts/ptmx in the container");
    terminal = pty::open(std::move(fd));
    if (p.console_width && p.console_height) {
      struct winsize ws {};
      ws.ws_row = static_cast<unsigned short>(p.console_height);
      ws.ws_col = static_cast<unsigned short>(p.console_width);
      ::ioctl(terminal.master.get(), TIOCSWINSZ, &ws);
    } else if (relay) {
      pty::copy_window_size(terminal.master.get());
    }
    if (console) {
      log::debug("send the pty master over the console socket (SCM_RIGHTS)");
      sys::send_fd(console.get(), terminal.master.get());
      console.reset();
      terminal.master.reset();
    }
  }

  int report[2], go[2];
  check(::pipe2(report, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(go, O_CLOEXEC), "unable to create a pipe");
  if (!o.detach)
    supervise::block_signals(); // forwarded to the process by wait_for
  if (seed.unified)
    log::debug("fork into cgroup ", seed.unified_path, " (clone3 CLONE_INTO_CGROUP)");
  bool placed = false;
  pid_t child = clone::into_cgroup(seed, 0, &placed);
  if (child < 0)
    sys_fail("unable to fork");
  if (child == 0) {
    ::close(report[0]);
    ::close(go[1]);
    Child c;
    c.p = &p;
    c.filter = &filter;
    c.seed = &seed;
    c.cgroup_name = group ? group->leaf() : "";
    c.chroot_dir = chroot_dir;
    c.pts = terminal.slave;
    c.preserve_fds = o.preserve_fds;
    c.go = go[0];
    c.report = report[1];
    run_child(c);
  }
  ::close(report[1]);
  ::close(go[0]);
  Fd go_w(go[1]), report_r(report[0]);
  try {
    host.restore();
    if (group && !placed)
      group->add_unified(child);
    if (::write(go_w.get(), "g", 1) < 0 && errno != EPIPE)
      sys_fail("unable to start the process");
    go_w.reset();
    try {
      start_report::wait(report_r.get());
    } catch (const std::exception &e) {
      throw Error(cat("unable to start container process: ", e.what()), 1);
    }
    if (!o.pid_file.empty())
      // A temporary name and a rename: clients read it as soon as it appears.
      sys::write_file_atomic(o.pid_file, std::to_string(child), 0644, false);
  } catch (...) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    throw;
  }
  if (o.detach)
    return 0;
  return supervise::wait_for(child, relay ? terminal.master.get() : -1, relay);
}

} // namespace koker::oci
