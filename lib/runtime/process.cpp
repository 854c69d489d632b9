// SPDX-License-Identifier: MIT
#include "runtime/process.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/caps.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/start_report.hpp"
#include "runtime/user.hpp"
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::process {

namespace {

std::string read_image_file(const char *path) {
  // Inside the container's root now: a FIFO or a huge file must not hang or swamp koker.
  Fd fd(::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
    return "";
  return sys::read_fd(fd.get(), 4 << 20, cat("the container's ", path));
}

std::string env_value(const std::vector<std::string> &env, std::string_view key) {
  for (const auto &e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return "";
}

} // namespace

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
    for (const auto &dir : text::split(path, ':')) {
      std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
      ::execve(full.c_str(), args.data(), envp.data());
      if (errno == EACCES)
        denied = true;
      else if (errno != ENOENT && errno != ENOTDIR) {
        err = errno;
        break;
      }
    }
    if (err == ENOENT && denied)
      err = EACCES;
  }
  int code = err == ENOENT ? exit_not_found : exit_cannot_exec;
  std::string msg = err == ENOENT
                        ? cat("exec: \"", printable(cmd), "\": executable file not found in $PATH")
                        : cat("exec: \"", printable(cmd), "\": ", std::strerror(err));
  if (report_fd >= 0)
    start_report::send(report_fd, code, msg);
  else
    log::fatal(msg); // nobody waits for a report (an OCI container after start): say it here
  ::_exit(code);
}

// execve resets caught signals but keeps ignored ones, such as SIGPIPE here or anything the
// caller ignored. The raw system call, since glibc's signal() refuses 32 and 33, which it
// keeps for itself.
void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
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

namespace {

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

  reset_signals();
  ::umask(022);
  log::debug("execve ", p.argv[0]);
  exec_command(p.argv, env, report_fd);
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

void exec(const Process &p, int report_fd) {
  try {
    confine_and_exec(p, report_fd);
  } catch (...) {
    start_report::send_current(report_fd);
  }
  ::_exit(exit_setup);
}

} // namespace koker::process
