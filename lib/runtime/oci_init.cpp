// SPDX-License-Identifier: MIT
#include "runtime/oci_init.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/namespace.hpp"
#include "runtime/mounts.hpp"
#include "runtime/oci_hooks.hpp"
#include "runtime/oci_process.hpp"
#include "runtime/process.hpp"
#include "runtime/pty.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/userns.hpp"
#include "runtime/start_report.hpp"
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <csignal>
#include <cstdio>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

namespace koker::oci {

namespace {

struct NsType {
  const char *name;
  int flag;
};
const NsType ns_types[] = {{"mount", CLONE_NEWNS},   {"pid", CLONE_NEWPID},
                           {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
                           {"uts", CLONE_NEWUTS},     {"cgroup", CLONE_NEWCGROUP},
                           {"user", CLONE_NEWUSER}};

int flag_of(const std::string &type) {
  for (const auto &t : ns_types)
    if (type == t.name)
      return t.flag;
  fail("unsupported namespace type ", printable(type));
}

// A new user namespace maps no ids until koker-oci writes its maps (user_namespaces(7)): wait
// for them, then become its root, who owns what the init makes from here on (runc's nsexec).
void become_user_namespace_root(int sync_fd) {
  char got = 0;
  if (::read(sync_fd, &got, 1) != 1 || got != 'u')
    fail("koker-oci went away before it mapped the user namespace");
  log::debug("setresgid 0 0 0, setresuid 0 0 0: root of the new user namespace");
  check(::setresgid(0, 0, 0), "unable to become root in the user namespace");
  check(::setresuid(0, 0, 0), "unable to become root in the user namespace");
}

// Namespaces given by path are joined, not made (Kubernetes joins a pod's net, ipc and uts).
// A pid namespace applies to children only: koker-oci entered it before the clone. Joining a
// user namespace would need its owner's id maps: refused for now.
void join_namespaces(const Spec &spec) {
  for (const auto &ns : spec.namespaces) {
    if (ns.path.empty() || ns.type == "pid")
      continue;
    if (ns.type == "user")
      fail("unable to join the ", ns.type, " namespace ", ns.path, ": not supported yet");
    Fd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
      sys_fail("unable to open namespace ", ns.path);
    log::debug("setns(", ns.path, ", ", ns.type, ")");
    check(::setns(fd.get(), flag_of(ns.type)), "unable to join the ", ns.type, " namespace ",
          ns.path);
  }
}

// A mount inside /proc could redirect procfs writes (CVE-2019-16884 and friends), and anything
// but procfs on /proc itself would hide the kernel's files the masks and sysctls rely on (runc's
// checkProcMount).
bool over_proc(const Mount &m) {
  const std::string &dest = m.destination;
  if (dest == "/proc")
    return m.type != "proc";
  return dest.rfind("/proc/", 0) == 0 && dest.size() > 6;
}

bool is_kernel_dir(const std::string &dest) {
  return dest == "/proc" || dest == "/sys" || dest == "/dev";
}

void mount_one(int root, const Mount &m, bool userns) {
  if (m.destination.empty() || m.destination[0] != '/')
    fail("unable to mount ", printable(m.destination), ": the destination must be absolute");
  if (over_proc(m))
    fail("unable to mount ", m.source, " on ", m.destination, ": mounts into /proc are refused");
  const std::string &dest = m.destination;
  if (m.bind) {
    Fd source(::open(m.source.c_str(), O_PATH | O_CLOEXEC));
    if (!source)
      sys_fail("unable to open mount source ", m.source);
    struct stat st;
    check(::fstat(source.get(), &st), "unable to stat ", m.source);
    Fd target = S_ISDIR(st.st_mode)
                    ? mounts::make_dir_in_root(root, dest, mounts::Follow::in_root)
                    : mounts::make_file_in_root(root, dest);
    mounts::mount(mounts::fd_path(source.get()), mounts::fd_path(target.get()), nullptr,
                  MS_BIND | (m.recursive ? MS_REC : 0));
    // A bind takes no other flags with it: they are set by a remount of the bind.
    unsigned long extra = m.flags & ~(MS_BIND | MS_REC);
    if (extra) {
      Fd again = mounts::open_in_root(root, dest, mounts::Follow::in_root);
      mounts::mount("", mounts::fd_path(again.get()), nullptr,
                    MS_BIND | MS_REMOUNT | extra);
    }
  } else {
    mounts::Follow follow =
        is_kernel_dir(dest) ? mounts::Follow::no_symlinks : mounts::Follow::in_root;
    Fd target = mounts::make_dir_in_root(root, dest, follow);
    std::string type = m.type;
    std::string data = m.data;
    unsigned long flags = m.flags;
    if (type == "cgroup") {
      // A v1 hierarchy per controller would need one mount each (runc's way); until then the
      // container sees an empty read-only /sys/fs/cgroup on hosts with v1 controllers.
      type = "tmpfs";
      data = "mode=755";
      flags |= MS_RDONLY;
    }
    mounts::mount(m.source.empty() ? type : m.source, mounts::fd_path(target.get()),
                  type.c_str(), flags, data);
    if (dest == "/dev" && type == "tmpfs")
      rootfs::make_device_nodes(root, userns);
  }
  if (m.propagation || m.rec_attr_set || m.rec_attr_clr) {
    Fd again = mounts::open_in_root(root, dest, mounts::Follow::in_root);
    if (m.propagation)
      mounts::mount("", mounts::fd_path(again.get()), nullptr, m.propagation);
    if (m.rec_attr_set || m.rec_attr_clr)
      mounts::set_attr_recursive(again.get(), m.rec_attr_set, m.rec_attr_clr, dest);
  }
}

// linux.devices: nodes beside the defaults, made in the container's /dev. In a new user
// namespace, where mknod(2) is refused, the host's node at the same path is bound instead
// (runc's way).
void make_devices(int root, const Spec &spec, bool userns) {
  for (const auto &d : spec.devices) {
    std::string dir = sys::dirname(d.path), name = d.path.substr(d.path.rfind('/') + 1);
    Fd parent = mounts::make_dir_in_root(root, dir, mounts::Follow::in_root);
    Fd dirfd = mounts::open_in_root(root, dir, mounts::Follow::in_root, O_DIRECTORY | O_RDONLY);
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    mode_t mode = d.file_mode.value_or(0666) & 07777;
    ::unlinkat(dirfd.get(), name.c_str(), 0);
    if (userns) {
      Fd file(::openat(dirfd.get(), name.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0));
      if (!file)
        sys_fail("unable to create device ", d.path);
      mounts::mount(d.path, mounts::fd_path(file.get()), nullptr, MS_BIND);
      continue;
    }
    log::debug("mknod ", d.path, " ", d.type, " ", d.major, " ", d.minor);
    check(::mknodat(dirfd.get(), name.c_str(), type | mode,
                    makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))),
          "unable to create device ", d.path);
    // mknod(2) applies the umask: the mode is set again, as the config gives it.
    check(::fchmodat(dirfd.get(), name.c_str(), mode, 0), "unable to chmod device ", d.path);
    check(::fchownat(dirfd.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                     AT_SYMLINK_NOFOLLOW),
          "unable to chown device ", d.path);
  }
}

void write_sysctls(int root, const Spec &spec) {
  for (const auto &[key, value] : spec.sysctl) {
    std::string path = "/proc/sys/" + key;
    for (char &c : path)
      if (c == '.')
        c = '/';
    Fd f = mounts::open_in_root(root, path, mounts::Follow::no_symlinks, O_WRONLY);
    log::debug("write ", path, " ", value);
    sys::write_fd(f.get(), value, path);
  }
}

// The pty from the container's devpts, bound over /dev/console; the master goes to the
// console socket (runc's protocol: one SCM_RIGHTS message), or to koker-run over its
// socketpair, which sizes the pty before the command can ask for its size and then says so.
// Returns the pts's path.
std::string make_console(int root, const InitOptions &o) {
  if (o.console_socket.empty() && o.console_fd < 0)
    fail("process.terminal is set but no --console-socket was given");
  pty::Pty p = pty::open(mounts::open_in_root(root, "/dev/pts/ptmx", mounts::Follow::no_symlinks,
                                              O_RDWR | O_NOCTTY));
  Fd slave = mounts::open_in_root(root, p.slave, mounts::Follow::no_symlinks, O_RDWR | O_NOCTTY);
  Fd console = mounts::make_file_in_root(root, "/dev/console", 0600);
  log::debug("bind ", p.slave, " on /dev/console");
  mounts::mount(mounts::fd_path(slave.get()), mounts::fd_path(console.get()), nullptr, MS_BIND);
  if (o.console_fd >= 0) {
    log::debug("send the pty master to koker-run (SCM_RIGHTS)");
    sys::send_fd(o.console_fd, p.master.get());
    char byte;
    if (::read(o.console_fd, &byte, 1) != 1)
      fail("koker-run went away while the pty was set up");
    ::close(o.console_fd);
    return p.slave;
  }
  Fd sock = pty::connect_console(o.console_socket);
  log::debug("send the pty master to ", o.console_socket, " (SCM_RIGHTS)");
  sys::send_fd(sock.get(), p.master.get());
  return p.slave;
}

// Without a terminal the process keeps the caller's descriptors (conmon's pipes), except
// where koker-run asks for its own: stdin from /dev/null, the output to the log.
void set_stdio(const InitOptions &o) {
  if (o.stdin_fd >= 0)
    check(::dup2(o.stdin_fd, 0), "unable to give the container its stdin pipe");
  else if (o.stdin_null) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null || ::dup2(null.get(), 0) < 0)
      sys_fail("unable to redirect stdin from the container's /dev/null");
  }
  if (o.output_fd >= 0)
    for (int fd : {1, 2})
      check(::dup2(o.output_fd, fd), "unable to send the output to the log");
}

// The parent-death signal (koker-run in the foreground: its container dies with it). Changing
// the uid clears it (prctl(2)), so it is set again after; then the report pipe tells whether
// koker-run died in between: it has no reader left if so.
void die_with_parent(int report_fd) {
  check(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "unable to set the parent-death signal");
  struct pollfd pfd = {report_fd, 0, 0};
  if (report_fd >= 0 && ::poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR))
    ::_exit(process::exit_setup);
}

// linux.rootfsPropagation for the container's mounts: rslave unless the config says, so that
// nothing mounted from here on reaches the host.
unsigned long root_propagation(const Spec &spec) {
  const std::string &rp = spec.rootfs_propagation;
  if (rp == "private" || rp == "rprivate")
    return MS_PRIVATE | MS_REC;
  if (rp == "shared" || rp == "rshared")
    return MS_SHARED | MS_REC;
  if (rp == "unbindable" || rp == "runbindable")
    return MS_UNBINDABLE | MS_REC;
  return MS_SLAVE | MS_REC;
}

// pivot_root(2) refuses a new root whose parent mount is shared, and a bind of the root onto
// itself would then reach the host's peers: with rootfsPropagation shared, the mount holding
// the root is made private (runc's rootfsParentMountPropagation), and "/" gets the
// propagation asked for once it is the root.
void make_root_parent_private(const std::string &rootfs) {
  std::string path = rootfs;
  for (;;) {
    log::debug("mount --make-private ", path);
    if (::mount("", path.c_str(), nullptr, MS_PRIVATE, nullptr) == 0)
      return;
    if (errno != EINVAL || path == "/") // EINVAL: not a mount point, try its parent
      sys_fail("unable to make the mount holding ", rootfs, " private");
    path = sys::dirname(path);
  }
}

// The flags of the mount at path that a bind remount must repeat: it would clear them
// otherwise, and in a user namespace those the host set are locked (mount(2) EPERM).
unsigned long kept_flags(const std::string &path) {
  struct statvfs st;
  check(::statvfs(path.c_str(), &st), "unable to statvfs ", path);
  const std::pair<unsigned long, unsigned long> flags[] = {
      {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
  unsigned long kept = 0;
  for (const auto &[st_flag, ms_flag] : flags)
    if (st.f_flag & st_flag)
      kept |= ms_flag;
  return kept;
}

void switch_root(const Spec &spec, const InitOptions &o) {
  if (!o.no_pivot) {
    mounts::pivot_root(o.rootfs);
    return;
  }
  // --no-pivot (a root on a ramfs, where pivot_root fails): move the root over / and chroot.
  check(::chdir(o.rootfs.c_str()), "unable to chdir to ", o.rootfs);
  mounts::mount(o.rootfs, "/", nullptr, MS_MOVE);
  check(::chroot("."), "unable to chroot to ", o.rootfs);
  check(::chdir("/"), "unable to chdir to /");
  (void)spec;
}

void change_dir(const Spec &spec) {
  const std::string &cwd = spec.process.cwd.empty() ? "/" : spec.process.cwd;
  if (cwd[0] != '/')
    fail("the working directory ", printable(cwd), " is not absolute");
  if (::chdir(cwd.c_str()) < 0) {
    sys::mkdir_p(cwd, 0755);
    check(::chdir(cwd.c_str()), "unable to chdir to ", cwd);
  }
  // CVE-2024-21626: the working directory must be inside the container's root.
  char buf[4096];
  if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
    fail("the working directory ", printable(cwd), " is outside the container");
}

// runc's LookPath at create, as the container's user in its root: a command that cannot run
// fails create with the words podman maps to 127 ("executable file not found in",
// "no such file or directory") and containerd reports, instead of a container that starts and
// exits 127. koker-oci run keeps the exec's own 127.
void look_up_command(const Spec &spec) {
  const std::string &cmd = spec.process.args[0];
  auto runnable = [](const std::string &path, int *err) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
      *err = errno;
      return false;
    }
    *err = S_ISDIR(st.st_mode) ? EISDIR : ::access(path.c_str(), X_OK) < 0 ? errno : 0;
    return *err == 0;
  };
  int err = 0;
  if (cmd.find('/') != std::string::npos) {
    if (runnable(cmd, &err))
      return;
    std::string why = std::strerror(err); // in Go's words: "no such file or directory"
    why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    fail("exec: \"", printable(cmd), "\": stat ", printable(cmd), ": ", why);
  }
  std::string path;
  for (const auto &e : spec.process.env)
    if (e.rfind("PATH=", 0) == 0)
      path = e.substr(5);
  for (const auto &dir : text::split(path, ':'))
    if (runnable((dir.empty() ? "." : dir) + "/" + cmd, &err))
      return;
  fail("exec: \"", printable(cmd), "\": executable file not found in $PATH");
}

void wait_for(const InitOptions &o, char want) {
  char got = 0;
  if (::read(o.sync_fd, &got, 1) != 1 || got != want)
    fail("the runtime went away before the container started");
}

// The parent sends 'c' once it made the cgroups, which the init then joins (on_go).
void wait_for_cgroups(const InitOptions &o) {
  wait_for(o, 'c');
  if (o.on_go)
    o.on_go();
}

// Then 'g', once what the container needs from outside is ready (koker-run's network). With
// create hooks the init waits for both where the mounts are done and pivot_root is still to
// come: the runtime-spec's point for them ("Lifecycle" steps 3 to 5), which run in the
// container's cgroups, as runc's. With prestart or createRuntime hooks it asks koker-oci to
// run them (one byte on hooks_fd) and waits for 'r'; then it runs createContainer in its own
// namespaces.
void wait_for_go(const Spec &spec, const InitOptions &o) {
  wait_for(o, 'g');
  if (o.hooks_fd >= 0) {
    log::debug("ask koker-oci for the prestart and createRuntime hooks");
    sys::write_fd(o.hooks_fd, "h", "the hooks pipe");
    ::close(o.hooks_fd);
    wait_for(o, 'r');
  }
  ::close(o.sync_fd);
  if (spec.hooks.create_container.empty())
    return;
  State st = o.state;
  st.pid = ::getpid(); // the pid as the container sees it (runtime-spec "State")
  check(::chdir(o.rootfs.c_str()), "unable to chdir to ", o.rootfs); // runc's working dir
  run_hooks(spec.hooks.create_container, "createContainer", st, "creating");
}

void run_start_hooks(const Spec &spec, const InitOptions &o) {
  State st = o.state;
  st.pid = ::getpid();
  run_hooks(spec.hooks.start_container, "startContainer", st, "created");
}

// Blocks until koker-oci start opens exec.fifo, as the runtime-spec's create/start split
// asks (the fifo is reached through the O_PATH fd taken before pivot_root), runs the
// startContainer hooks, then tells start how they went: "0", or "1" and why, which start
// prints and fails with ("Lifecycle" step 7). False when they failed.
bool wait_for_start(const Spec &spec, const InitOptions &o) {
  std::string path = cat("/proc/self/fd/", o.fifo_fd);
  log::debug("open exec.fifo for writing: waits for koker-oci start");
  Fd w(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!w)
    sys_fail("unable to open exec.fifo");
  ::close(o.fifo_fd);
  std::string result = "0";
  try {
    run_start_hooks(spec, o);
  } catch (const Error &e) {
    result = cat("1", e.what());
  }
  sys::write_fd(w.get(), result, "exec.fifo");
  return result == "0";
}

// CVE-2019-5736/2016-9962: nothing in the container may open or ptrace this process through
// /proc while it still runs koker's code.
void make_non_dumpable() {
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "unable to make the process non-dumpable");
}

void setup_and_exec(const Spec &spec, const InitOptions &o) {
  // Rootless (in koker's user namespace) the mark waits for the parent's go. This process's
  // memory belongs to the host's user namespace (koker-run was exec'd there), so once it is
  // non-dumpable its /proc/PID/ns/net opens only with CAP_SYS_PTRACE there, which the user
  // lacks, and slirp4netns, started by the parent meanwhile, could not join the network
  // namespace. Until the go nothing of the container runs, and the koker binary is root's,
  // not the user's, so what the mark guards against cannot happen before it.
  bool mark_after_go = userns::inside();
  if (!mark_after_go)
    make_non_dumpable();
  if (o.die_with_parent)
    die_with_parent(o.report_fd);
  bool userns = clone_flags(spec) & CLONE_NEWUSER; // a new one, made at the clone
  if (userns)
    become_user_namespace_root(o.sync_fd);
  join_namespaces(spec);
  if (o.net_namespace >= 0) {
    // Before any mount: a sysfs mounted here shows the network namespace of its mounter.
    log::debug("setns(the network namespace made ahead, net)");
    check(::setns(o.net_namespace, CLONE_NEWNET), "unable to join the container's network namespace");
  }
  unsigned long prop = root_propagation(spec);
  if (spec.has_namespace("mount")) {
    // Unbindable only once "/" is the root: until then the root, the host's /dev/null for the
    // masks and the volumes must be bound (mount(2) EINVAL from an unbindable mount).
    mounts::mount("", "/", nullptr, (prop & MS_UNBINDABLE) ? MS_PRIVATE | MS_REC : prop);
    if (o.mount_root)
      o.mount_root();
    if (prop & MS_SHARED)
      make_root_parent_private(o.rootfs);
    // pivot_root needs the root to be a mount point: bind it onto itself (runc's way), unless
    // it is one already (koker-run's overlay, podman's): then this namespace's copy of that
    // mount is the container's alone, and its flags (read-only below) stay here.
    if ((prop & MS_SHARED) || !sys::is_mount_point(o.rootfs))
      mounts::mount(o.rootfs, o.rootfs, nullptr, MS_BIND | MS_REC);
    else
      log::debug(o.rootfs, " is a mount point already: no bind onto itself");
  }
  Fd root(::open(o.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root)
    sys_fail("unable to open ", o.rootfs);
  // mknod(2) is refused in any user namespace but the host's: a new one, or rootless
  // koker's, which this process is in already (runtime/userns.hpp).
  bool bind_devices = userns || userns::inside();
  for (const auto &m : spec.mounts)
    mount_one(root.get(), m, bind_devices);
  make_devices(root.get(), spec, bind_devices);
  write_sysctls(root.get(), spec);
  rootfs::mask_paths(root.get(), spec.masked_paths, spec.readonly_paths);
  std::string pts = spec.process.terminal ? make_console(root.get(), o) : std::string();
  // Create hooks run before pivot_root, in cgroups already joined: the waits come here then.
  // Without them they come late, so that the rest of the set-up (pivot_root, the session,
  // stdio, and after the cgroups the limits, the filter, the identity) overlaps the
  // parent's own work (koker-run's network): the go finds little left to do before the exec.
  bool go_early = o.hooks_fd >= 0 || !spec.hooks.create_container.empty();
  if (go_early) {
    wait_for_cgroups(o);
    wait_for_go(spec, o);
    if (mark_after_go)
      make_non_dumpable();
  }
  if (spec.root_readonly)
    mounts::mount("", o.rootfs, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(o.rootfs));
  root.reset();
  if (spec.has_namespace("mount"))
    switch_root(spec, o);
  else
    check(::chroot(o.rootfs.c_str()), "unable to chroot to ", o.rootfs);
  if (spec.has_namespace("mount") && (prop & (MS_SHARED | MS_UNBINDABLE)))
    mounts::mount("", "/", nullptr, prop);
  if (spec.has_namespace("uts")) {
    if (!spec.hostname.empty()) {
      log::debug("sethostname ", spec.hostname);
      check(::sethostname(spec.hostname.data(), spec.hostname.size()),
            "unable to set the hostname");
    }
    if (!spec.domainname.empty())
      check(::setdomainname(spec.domainname.data(), spec.domainname.size()),
            "unable to set the domain name");
  }
  // One made ahead (o.net_namespace) had its lo brought up by its maker.
  if (const Namespace *net = spec.find_namespace("network");
      net && net->path.empty() && o.net_namespace < 0)
    net::loopback_up();
  check(::setsid(), "unable to start a session");
  if (spec.process.terminal)
    pty::attach(pts); // the pts itself, not /dev/console, so that tty(1) names /dev/pts/N
  else
    set_stdio(o);
  // Rootless, the go comes before the identity too: a change of uid makes the process
  // non-dumpable (commit_creds), and slirp4netns, started meanwhile, must still join its
  // network namespace.
  bool go_late = !go_early && !mark_after_go;
  if (!go_early)
    wait_for_cgroups(o);
  if (!go_early && !go_late) {
    wait_for_go(spec, o);
    make_non_dumpable();
  }
  apply_limits(spec.process);
  change_dir(spec);
  // Every descriptor of koker's closes on exec; 3 .. 2+N are the caller's to pass on.
  log::debug("close_range(", 3 + o.preserve_fds, ", ~0, CLOSE_RANGE_CLOEXEC)");
  check(static_cast<int>(::syscall(SYS_close_range, 3 + o.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC)),
        "unable to mark descriptors close-on-exec");
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the capabilities go
  // (runc's order); with it, last of all, as the spec wants.
  if (!spec.process.no_new_privileges && !o.filter.prog.empty())
    seccomp::load(o.filter);
  set_identity(spec.process);
  if (o.die_with_parent)
    die_with_parent(o.report_fd);
  if (go_late)
    wait_for_go(spec, o);
  if (spec.process.no_new_privileges) {
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "unable to set no_new_privs");
    if (!o.filter.prog.empty())
      seccomp::load(o.filter);
  }
  ::umask(spec.process.user.umask.value_or(022));
  if (o.fifo_fd >= 0)
    look_up_command(spec);
  process::reset_signals();
  if (o.report_exec)
    return; // the report pipe closes on exec: its end of file says the command runs
  if (o.fifo_fd < 0) // koker-oci run: no start in between, and run reports the failure
    run_start_hooks(spec, o);
  // Set up: from here on failures go to stderr (the container's), as runc's init.
  start_report::send_ready(o.report_fd);
  ::close(o.report_fd);
}

} // namespace

unsigned long clone_flags(const Spec &spec) {
  unsigned long flags = 0;
  for (const auto &ns : spec.namespaces)
    if (ns.path.empty())
      flags |= static_cast<unsigned long>(flag_of(ns.type));
  return flags;
}

void run_init(const Spec &spec, const InitOptions &o) {
  try {
    setup_and_exec(spec, o);
  } catch (...) {
    ::_exit(start_report::send_current(o.report_fd));
  }
  try {
    if (o.fifo_fd >= 0 && !wait_for_start(spec, o))
      ::_exit(process::exit_setup); // start says why
  } catch (const Error &e) {
    log::fatal(e.what());
    ::_exit(process::exit_setup);
  }
  log::debug("execve ", spec.process.args[0]);
  process::exec_command(spec.process.args, spec.process.env, o.report_exec ? o.report_fd : -1);
}

} // namespace koker::oci
