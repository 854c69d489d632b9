// SPDX-License-Identifier: MIT
#include "init.hpp"
#include "caps.hpp"
#include "error.hpp"
#include "log.hpp"
#include "ns.hpp"
#include "seccomp.hpp"
#include "sys.hpp"
#include "user.hpp"
#include <csignal>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace koker::init {

namespace {

// Docker's maskedPaths and readonlyPaths (moby oci/defaults.go).
const char *const masked_paths[] = {
    "/proc/asound",      "/proc/acpi",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",        "/sys/firmware",     "/sys/devices/virtual/powercap"};
const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

struct Node {
  const char *name;
  unsigned major, minor;
};
// runc's default devices, all 0666.
const Node device_nodes[] = {{"null", 1, 3},    {"zero", 1, 5},    {"full", 1, 7},
                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

constexpr unsigned long kernel_fs_flags = MS_NOSUID | MS_NOEXEC | MS_NODEV;

// Mounts onto the directory path inside root, which must be a real directory (CVE-2019-16884
// and friends: never a symlink for /proc, /sys, /dev).
void mount_kernel_fs(int root, const char *path, const char *type, unsigned long flags,
                     const std::string &data) {
  Fd target = ns::make_dir_in_root(root, path, ns::Follow::no_symlinks);
  ns::mount(type, ns::fd_path(target.get()), type, flags, data);
}

void make_dev(int root) {
  mount_kernel_fs(root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  // Reopen: the fd taken before the mount names the directory underneath it.
  Fd dev = ns::open_in_root(root, "/dev", ns::Follow::no_symlinks, O_DIRECTORY | O_RDONLY);
  ::umask(0);
  for (const auto &n : device_nodes) {
    log::debug("mknod /dev/", n.name, " c ", n.major, " ", n.minor);
    check(::mknodat(dev.get(), n.name, S_IFCHR | 0666, makedev(n.major, n.minor)),
          "unable to create /dev/", n.name);
  }
  const std::pair<const char *, const char *> links[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}};
  for (auto &[to, name] : links) {
    log::debug("ln -s ", to, " /dev/", name);
    check(::symlinkat(to, dev.get(), name), "unable to create /dev/", name);
  }
  if (sys::exists("/proc/kcore"))
    check(::symlinkat("/proc/kcore", dev.get(), "core"), "unable to create /dev/core");
  ::umask(022);
  mount_kernel_fs(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mount_kernel_fs(root, "/dev/shm", "tmpfs", kernel_fs_flags, "mode=1777,size=65536k");
  mount_kernel_fs(root, "/dev/mqueue", "mqueue", kernel_fs_flags, "");
}

// Host /dev/null, checked to be the real char 1:3 on the fd that will be used (runc
// CVE-2025-31133: a swapped /dev/null unmasks what it should hide).
Fd open_dev_null() {
  Fd fd(::open("/dev/null", O_PATH | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    fail("unable to mask paths: /dev/null on the host is not the null device");
  return fd;
}

void mask_paths(int root, int dev_null) {
  // One empty read-only tmpfs hides every masked directory: the first gets it, the others
  // a bind of it (its superblock is read-only, so every bind is too). A superblock less for
  // each to set up and tear down.
  Fd empty;
  for (const char *path : masked_paths) {
    Fd target = ns::open_in_root_if_exists(root, path, ns::Follow::no_symlinks);
    if (!target)
      continue; // the kernel has no such file: nothing to hide
    struct stat st;
    check(::fstat(target.get(), &st), "unable to stat ", path);
    if (!S_ISDIR(st.st_mode)) {
      ns::mount(ns::fd_path(dev_null), ns::fd_path(target.get()), nullptr, MS_BIND);
    } else if (empty) {
      ns::mount(ns::fd_path(empty.get()), ns::fd_path(target.get()), nullptr, MS_BIND);
    } else {
      ns::mount("tmpfs", ns::fd_path(target.get()), "tmpfs", MS_RDONLY,
                "nr_blocks=1,nr_inodes=1");
      empty = ns::open_in_root(root, path, ns::Follow::no_symlinks); // the tmpfs, now
    }
  }
  for (const char *path : readonly_paths) {
    Fd target = ns::open_in_root_if_exists(root, path, ns::Follow::no_symlinks);
    if (!target)
      continue;
    std::string at = ns::fd_path(target.get());
    ns::mount(at, at, nullptr, MS_BIND | MS_REC);
    Fd again = ns::open_in_root(root, path, ns::Follow::no_symlinks);
    ns::mount("", ns::fd_path(again.get()), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | kernel_fs_flags);
  }
}

// /etc/hostname, /etc/hosts, /etc/resolv.conf: koker's files bound over whatever the image
// has there; an image's symlink in their place is replaced, never followed.
void bind_etc_files(int root, const std::string &etc_dir) {
  for (const char *name : {"hostname", "hosts", "resolv.conf"}) {
    std::string source = cat(etc_dir, "/", name);
    if (!sys::exists(source))
      continue;
    Fd target = ns::make_file_in_root(root, cat("/etc/", name));
    ns::mount(source, ns::fd_path(target.get()), nullptr, MS_BIND);
  }
}

void bind_volumes(int root, const std::vector<Volume> &volumes) {
  for (const auto &v : volumes) {
    std::string t = v.target;
    if (t.rfind("/proc", 0) == 0 && (t.size() == 5 || t[5] == '/'))
      fail("unable to mount ", v.source, " on ", t, ": mounts into /proc are refused");
    Fd source(::open(v.source.c_str(), O_PATH | O_CLOEXEC));
    if (!source)
      sys_fail("unable to open volume ", v.source);
    struct stat st;
    check(::fstat(source.get(), &st), "unable to stat ", v.source);
    Fd target = S_ISDIR(st.st_mode) ? ns::make_dir_in_root(root, t, ns::Follow::in_root)
                                    : ns::make_file_in_root(root, t);
    ns::mount(ns::fd_path(source.get()), ns::fd_path(target.get()), nullptr, MS_BIND | MS_REC);
    if (v.read_only) {
      // mount_setattr(AT_RECURSIVE) makes every mount below the volume read-only too; a
      // plain MS_REMOUNT would leave submounts of the host path writable.
      Fd again = ns::open_in_root(root, t, ns::Follow::in_root);
      ns::make_read_only(again.get(), t);
    }
  }
}

// Opens ping sockets to every group, as podman does, so ping works without CAP_NET_RAW.
void open_ping_range(int root) {
  Fd f = ns::open_in_root(root, "/proc/sys/net/ipv4/ping_group_range", ns::Follow::no_symlinks,
                          O_WRONLY);
  log::debug("write /proc/sys/net/ipv4/ping_group_range 0 2147483647");
  sys::write_fd(f.get(), "0 2147483647", "ping_group_range");
}

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
// and sends the master to koker-run (runc's console socket).
int make_console(int root, int console_fd) {
  Fd ptmx = ns::open_in_root(root, "/dev/pts/ptmx", ns::Follow::no_symlinks, O_RDWR | O_NOCTTY);
  check(::unlockpt(ptmx.get()), "unable to unlock the pty");
  int n = 0;
  check(::ioctl(ptmx.get(), TIOCGPTN, &n), "unable to name the pty");
  std::string pts = cat("/dev/pts/", n);
  Fd slave = ns::open_in_root(root, pts, ns::Follow::no_symlinks, O_RDWR | O_NOCTTY);
  Fd console = ns::make_file_in_root(root, "/dev/console", 0600);
  ns::mount(ns::fd_path(slave.get()), ns::fd_path(console.get()), nullptr, MS_BIND);
  log::debug("send the pty master to koker-run (SCM_RIGHTS); bind ", pts, " on /dev/console");
  sys::send_fd(console_fd, ptmx.get());
  char byte;
  // koker-run sizes the pty before the command can ask for its size.
  if (::read(console_fd, &byte, 1) != 1)
    fail("koker-run went away while the pty was set up");
  return n;
}

std::string read_image_file(const char *path) {
  // Inside the container's root now: a FIFO or a huge file must not hang or swamp koker.
  Fd fd(::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
    return "";
  return sys::read_fd(fd.get(), 4 << 20);
}

// execvp's search, over the container's PATH, reporting the first useful errno.
[[noreturn]] void exec_command(const std::vector<std::string> &argv,
                               const std::vector<std::string> &env, int report_fd);

void report(int fd, int code, const std::string &msg) {
  std::string m = cat(static_cast<char>(code), msg);
  ssize_t ignored = ::write(fd, m.data(), m.size());
  (void)ignored;
}

std::string env_value(const std::vector<std::string> &env, std::string_view key) {
  for (const auto &e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return "";
}

void exec_command(const std::vector<std::string> &argv, const std::vector<std::string> &env,
                  int report_fd) {
  std::vector<char *> args, envp;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  for (const auto &e : env)
    envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);
  const std::string &cmd = argv[0];
  int err = ENOENT;
  if (cmd.find('/') != std::string::npos) {
    ::execve(cmd.c_str(), args.data(), envp.data());
    err = errno;
  } else {
    std::string path = env_value(env, "PATH");
    bool denied = false;
    for (size_t i = 0; i <= path.size();) {
      size_t j = path.find(':', i);
      if (j == std::string::npos)
        j = path.size();
      std::string dir = path.substr(i, j - i);
      std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
      ::execve(full.c_str(), args.data(), envp.data());
      if (errno == EACCES)
        denied = true;
      else if (errno != ENOENT && errno != ENOTDIR) {
        err = errno;
        break;
      }
      i = j + 1;
    }
    if (err == ENOENT && denied)
      err = EACCES;
  }
  if (err == ENOENT)
    report(report_fd, exit_not_found,
           cat("exec: \"", printable(cmd), "\": executable file not found in $PATH"));
  else
    report(report_fd, exit_cannot_exec,
           cat("exec: \"", printable(cmd), "\": ", std::strerror(err)));
  ::_exit(err == ENOENT ? exit_not_found : exit_cannot_exec);
}

// Every signal back to its default action, as the command expects to start: execve resets
// caught signals but keeps ignored ones, such as SIGPIPE here or anything the caller ignored.
// The raw system call, since glibc's signal() refuses 32 and 33, which it keeps for itself.
void reset_signals() {
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } dfl = {SIG_DFL, 0, nullptr, 0}; // the kernel's struct sigaction (x86-64)
  for (int sig = 1; sig <= 64; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
}

// The identity and confinement every container process gets, then execve: shared by the
// container's first process and by koker-exec.
[[noreturn]] void confine_and_exec(const Process &p, int report_fd) {
  user::Identity id = user::resolve(p.user, read_image_file("/etc/passwd"),
                                    read_image_file("/etc/group"));
  std::vector<std::string> env = p.env;
  if (env_value(env, "HOME").empty())
    env.push_back("HOME=" + id.home);
  std::string workdir = p.workdir.empty() ? "/" : p.workdir;
  if (::chdir(workdir.c_str()) < 0) {
    // docker creates a missing working directory
    log::debug("mkdir -p ", workdir);
    sys::mkdir_p(workdir, 0755);
    check(::chdir(workdir.c_str()), "unable to chdir to ", workdir);
  }
  // CVE-2024-21626: the working directory must be inside the container's root.
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    fail("the working directory ", printable(workdir), " is outside the container");

  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max >= 1024) {
    // Only ever lowered: raising a hard limit fails even for root on some hosts.
    nofile.rlim_cur = nofile.rlim_max = 1024;
    log::debug("setrlimit NOFILE 1024:1024");
    check(::setrlimit(RLIMIT_NOFILE, &nofile), "unable to set RLIMIT_NOFILE");
  }
  // No descriptor of koker's reaches the container: all but 0-2 close on exec.
  log::debug("close_range(3, ~0, CLOSE_RANGE_CLOEXEC)");
  check(static_cast<int>(::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC)),
        "unable to mark descriptors close-on-exec");

  if (p.no_new_privileges) {
    log::debug("prctl(PR_SET_NO_NEW_PRIVS, 1)");
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "unable to set no_new_privs");
  }
  // The filter goes on while the process still has CAP_SYS_ADMIN; Docker's profile allows
  // everything that follows (setgroups, setresuid, capset, execve).
  seccomp::load(p.filter);
  caps::limit_bounding(p.caps);
  log::debug("setgroups ", id.groups.size(), " groups; setresgid ", id.gid, "; setresuid ", id.uid);
  check(::setgroups(id.groups.size(), id.groups.data()), "unable to set groups");
  check(::setresgid(id.gid, id.gid, id.gid), "unable to set gid ", id.gid);
  check(::setresuid(id.uid, id.uid, id.uid), "unable to set uid ", id.uid);
  caps::set_process_caps(id.uid == 0 ? p.caps : 0);
  if (p.die_with_parent) {
    // Changing the uid cleared the parent-death signal (prctl(2)): set it again, then make
    // sure koker-run did not die in between: the report pipe has no reader left if it did.
    check(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "unable to set the parent-death signal");
    struct pollfd pfd = {report_fd, 0, 0};
    if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR))
      ::_exit(exit_setup);
  }

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  reset_signals();
  ::umask(022);
  log::debug("execve ", p.argv[0]);
  exec_command(p.argv, env, report_fd);
}


// One byte from koker-run: which is the step the child waits for.
void wait_for_parent(int sync_fd, char want) {
  char got = 0;
  if (::read(sync_fd, &got, 1) != 1 || got != want)
    fail("koker-run went away before the container started");
}

void setup_and_exec(const Spec &spec, int sync_fd, int report_fd, int console_fd,
                    const std::function<void()> &on_go) {
  // CVE-2019-5736/2016-9962: nothing in the container may open or ptrace this process
  // through /proc while it still runs koker's code.
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "unable to make the process non-dumpable");
  if (spec.process.die_with_parent)
    check(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "unable to set the parent-death signal");

  // Nothing mounted from here on may propagate back to the host (mount_namespaces(7)).
  ns::mount("", "/", nullptr, MS_SLAVE | MS_REC);
  // Relative lowerdirs keep the option string short (it must fit in one page).
  std::string lower;
  for (const auto &l : spec.lower)
    lower += (lower.empty() ? "" : ":") + l;
  std::string data = cat("lowerdir=", lower, ",upperdir=", spec.upper, ",workdir=", spec.work);
  // A --rm container's upper layer is thrown away: "volatile" skips the sync of it on unmount
  // (overlayfs docs), which otherwise waits for a journal commit at every exit.
  if (spec.volatile_upper)
    data += ",volatile";
  if (data.size() > 4000)
    fail("unable to mount the container's root: too many layers for one overlay mount");
  log::debug("chdir ", spec.layers_dir);
  check(::chdir(spec.layers_dir.c_str()), "unable to chdir to ", spec.layers_dir);
  ns::mount("overlay", spec.rootfs, "overlay", 0, data);
  Fd root(::open(spec.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root)
    sys_fail("unable to open ", spec.rootfs);

  mount_kernel_fs(root.get(), "/proc", "proc", kernel_fs_flags, "");
  make_dev(root.get());
  mount_kernel_fs(root.get(), "/sys", "sysfs", kernel_fs_flags | MS_RDONLY, "");
  if (spec.cgroup_ns)
    mount_kernel_fs(root.get(), "/sys/fs/cgroup", "cgroup2", kernel_fs_flags | MS_RDONLY, "");
  // koker-run writes these files while this process mounts the rest.
  wait_for_parent(sync_fd, 'e');
  bind_etc_files(root.get(), spec.etc_dir);
  bind_volumes(root.get(), spec.volumes);
  if (spec.own_net)
    open_ping_range(root.get());
  Fd dev_null = open_dev_null();
  mask_paths(root.get(), dev_null.get());
  dev_null.reset();
  int pts = spec.tty ? make_console(root.get(), console_fd) : -1;
  if (console_fd >= 0)
    ::close(console_fd);
  if (spec.read_only)
    ns::mount("", spec.rootfs, nullptr, MS_REMOUNT | MS_RDONLY | MS_BIND);
  root.reset();
  ns::pivot_root(spec.rootfs);

  if (spec.own_uts) {
    log::debug("sethostname ", spec.hostname);
    check(::sethostname(spec.hostname.data(), spec.hostname.size()), "unable to set the hostname");
  }
  if (spec.own_net)
    loopback_up();
  check(::setsid(), "unable to start a session");
  if (spec.tty) {
    // The pts itself, not /dev/console, so that tty(1) names /dev/pts/N as with runc.
    std::string path = cat("/dev/pts/", pts);
    Fd console(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!console)
      sys_fail("unable to open ", path);
    check(::ioctl(console.get(), TIOCSCTTY, 0), "unable to make the pty the controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
      check(::dup2(console.get(), fd), "unable to attach the pty");
  } else if (!spec.interactive) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null || ::dup2(null.get(), 0) < 0)
      sys_fail("unable to redirect stdin from /dev/null");
  }
  if (spec.output_fd >= 0 && !spec.tty)
    for (int fd : {1, 2})
      check(::dup2(spec.output_fd, fd), "unable to send the output to the log");

  // The root is ready; the command may run only once koker-run has made the cgroups and
  // plugged the network. Waiting here, not earlier, lets both sides work at the same time.
  wait_for_parent(sync_fd, 'g');
  ::close(sync_fd);
  if (on_go)
    on_go(); // joins the cgroups
  confine_and_exec(spec.process, report_fd);
}

} // namespace

void set_env(std::vector<std::string> &env, const std::string &kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (auto &e : env)
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = kv;
      return;
    }
  env.push_back(kv);
}

void apply_env_option(std::vector<std::string> &env, const std::string &option) {
  if (option.find('=') != std::string::npos)
    set_env(env, option);
  else if (const char *v = ::getenv(option.c_str()))
    set_env(env, option + "=" + v);
}

void exec_process(const Process &process, int report_fd) {
  try {
    confine_and_exec(process, report_fd);
  } catch (const Error &e) {
    report(report_fd, exit_setup, e.what());
  } catch (const std::exception &e) {
    report(report_fd, exit_setup, cat("internal error: ", e.what()));
  }
  ::_exit(exit_setup);
}

void run(const Spec &spec, int sync_fd, int report_fd, int console_fd,
         const std::function<void()> &on_go) {
  try {
    setup_and_exec(spec, sync_fd, report_fd, console_fd, on_go);
  } catch (const Error &e) {
    report(report_fd, exit_setup, e.what());
  } catch (const std::exception &e) {
    report(report_fd, exit_setup, cat("internal error: ", e.what()));
  }
  ::_exit(exit_setup);
}

} // namespace koker::init
