// SPDX-License-Identifier: MIT
// koker-exec: run a command inside a running container, confined as the container is.
#include "runtime/caps.hpp"
#include "runtime/clone.hpp"
#include "runtime/process.hpp"
#include "runtime/pty.hpp"
#include "runtime/start_report.hpp"
#include "cgroup/cgroup.hpp"
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/supervise.hpp"
#include "base/sys.hpp"
#include <csignal>
#include <optional>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "\n"
    "Run a command inside a running container (by ID, 12+ hex of one, or name): in all of its\n"
    "namespaces and cgroups, with its capabilities, seccomp filter and no_new_privs.\n"
    "\n"
    "Options:\n"
    "  -d, --detach          run the command in the background\n"
    "  -e, --env K=V         set an environment variable (added to the container's)\n"
    "  -i, --interactive     keep stdin open\n"
    "  -t, --tty             allocate a pseudo-terminal in the container's devpts\n"
    "  -u, --user USER[:GROUP]  the user, from the container's /etc/passwd and /etc/group\n"
    "  -w, --workdir DIR     the working directory\n"
    "  -q, --quiet           print nothing but the command's output and errors\n"
    "  -D, --debug           trace every system-level step on stderr\n"
    "      --root DIR        the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help            show this help\n"
    "      --version         show the version\n";

namespace {

struct Options {
  bool detach = false, interactive = false, tty = false;
  std::vector<std::string> env;
  std::string user, workdir, container;
  std::vector<std::string> command;
};

Options parse(int argc, char **argv) {
  auto longs = cli::long_options({{"detach", no_argument, nullptr, 'd'},
                                  {"env", required_argument, nullptr, 'e'},
                                  {"interactive", no_argument, nullptr, 'i'},
                                  {"tty", no_argument, nullptr, 't'},
                                  {"user", required_argument, nullptr, 'u'},
                                  {"workdir", required_argument, nullptr, 'w'}});
  std::string shorts = std::string(cli::COMMON_SHORT) + "de:itu:w:";
  Options o;
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'd': o.detach = true; break;
    case 'e': o.env.push_back(optarg); break;
    case 'i': o.interactive = true; break;
    case 't': o.tty = true; break;
    case 'u': o.user = optarg; break;
    case 'w': o.workdir = optarg; break;
    default: cli::bad_option(c, argv);
    }
  }
  if (argc - optind < 2)
    cli::usage_error(optind == argc ? "CONTAINER is missing" : "COMMAND is missing");
  o.container = argv[optind];
  o.command.assign(argv + optind + 1, argv + argc);
  for (const auto &e : o.env)
    if (e.empty() || e[0] == '=')
      cli::usage_error(cat("invalid environment variable ", printable(e)));
  if (!o.workdir.empty() && o.workdir[0] != '/')
    cli::usage_error(cat("the working directory ", printable(o.workdir), " is not absolute"));
  if (o.detach && o.tty)
    cli::usage_error("--detach and --tty do not go together");
  return o;
}

// The command as the container's own processes run: its env, user, workdir, capabilities,
// seccomp filter and no_new_privs, with the options on top.
process::Process make_process(const Options &o, const container::Record &rec,
                              const std::string &root) {
  process::Process p;
  p.argv = o.command;
  p.env = rec.env;
  for (const auto &e : o.env)
    process::apply_env_option(p.env, e);
  if (o.tty)
    process::set_env(p.env, "TERM=xterm");
  p.workdir = o.workdir.empty() ? rec.workdir : o.workdir;
  p.user = o.user.empty() ? rec.user : o.user;
  p.caps = caps::adjust(caps::default_set(), rec.cap_add, rec.cap_drop);
  p.filter = seccomp::cached_default(p.caps, root + "/cache");
  p.no_new_privileges = rec.no_new_privileges;
  p.die_with_parent = false; // the command may outlive a killed koker-exec, as with docker
  return p;
}

// Joins every namespace of the container's first process that is not ours, through a pidfd checked against
// the recorded start time, so a reused PID is never entered. The PID namespace applies to
// the children of this process (setns(2)).
void enter_namespaces(const container::Record &rec) {
  long pfd = ::syscall(SYS_pidfd_open, rec.pid, 0);
  if (pfd < 0 || !container::process_alive(rec.pid, rec.pid_start))
    fail("container ", rec.id.substr(0, 12), " is not running");
  Fd pidfd(static_cast<int>(pfd));
  int flags = clone::namespaces_to_join(rec.pid);
  log::debug("setns(pidfd of ", rec.pid, ", ", clone::flags_string(static_cast<unsigned>(flags)),
             ")");
  if (::setns(pidfd.get(), flags) < 0) {
    if (errno == ESRCH)
      fail("container ", rec.id.substr(0, 12), " is exiting");
    sys_fail("unable to enter the namespaces of container ", rec.id.substr(0, 12));
  }
}

// The command's side, from fork to execve: it waits until koker-exec has put it in the
// unified cgroup, joins the v1 ones itself, takes its terminal or /dev/null, and execs.
[[noreturn]] void run_command(const Options &o, const process::Process &p,
                              const std::optional<cgroup::Group> &group, const cgroup::Seed &seed,
                              const std::string &id, const std::string &pts, int go, int report) {
  try {
    char byte;
    if (::read(go, &byte, 1) != 1)
      fail("koker-exec went away");
    ::close(go);
    if (group)
      cgroup::join_self(seed, id);
    ::setsid();
    if (o.tty) {
      pty::attach(pts);
    } else if (o.detach || !o.interactive) {
      Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!null)
        sys_fail("unable to open the container's /dev/null");
      ::dup2(null.get(), 0);
      if (o.detach) {
        ::dup2(null.get(), 1);
        ::dup2(null.get(), 2);
      }
    }
  } catch (...) {
    ::_exit(start_report::send_current(report));
  }
  process::exec(p, report);
}

int exec_main(int argc, char **argv) {
  ::signal(SIGPIPE, SIG_IGN); // a child that failed closes its pipes early
  Options o = parse(argc, argv);
  std::string root = store_root();
  container::Record rec = container::refresh(root, container::get(root, o.container));
  if (rec.status != "running")
    fail("container ", rec.id.substr(0, 12), " is not running");
  if (rec.paused) // docker's rule: a frozen process could not start the command anyway
    fail("container ", rec.id.substr(0, 12), " is paused, unpause the container before exec");
  process::Process p = make_process(o, rec, root);

  // CVE-2016-9962: nothing in the container may ptrace or open this process once it enters.
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "unable to make the process non-dumpable");
  // The cgroup directories are opened now: their paths are the host's, gone once the mount
  // namespace changes. Only the command joins the group, not this waiting process: it starts
  // in the unified group (clone3) and moves itself into the v1 ones, as koker-run's child.
  std::optional<cgroup::Group> group = cgroup::Group::open(rec.id, rec.cgroup_parent);
  cgroup::Seed seed;
  if (group)
    seed = group->seed();
  enter_namespaces(rec);

  pty::Pty terminal;
  if (o.tty) {
    // The container's own devpts, as its first process has: the pts exists inside.
    Fd ptmx(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!ptmx)
      sys_fail("unable to open /dev/pts/ptmx in the container");
    terminal = pty::open(std::move(ptmx));
    pty::copy_window_size(terminal.master.get());
  }
  int report[2], go[2];
  check(::pipe2(report, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(go, O_CLOEXEC), "unable to create a pipe");
  if (!o.detach)
    supervise::block_signals();
  if (seed.unified)
    log::debug("fork into cgroup ", seed.unified_path, " (clone3 CLONE_INTO_CGROUP)");
  bool placed = false;
  pid_t child = clone::into_cgroup(seed, 0, &placed);
  if (child < 0)
    sys_fail("unable to fork");
  if (child == 0) {
    ::close(report[0]);
    ::close(go[1]);
    run_command(o, p, group, seed, rec.id, terminal.slave, go[0], report[1]);
  }
  ::close(report[1]);
  ::close(go[0]);
  Fd go_w(go[1]), report_r(report[0]);
  if (group && !placed)
    cgroup::place_unified(seed, child); // by descriptor: the host's paths are not ours now
  if (::write(go_w.get(), "g", 1) < 0 && errno != EPIPE)
    sys_fail("unable to start the command");
  go_w.reset();
  try {
    start_report::wait(report_r.get());
  } catch (...) {
    ::waitpid(child, nullptr, 0);
    throw;
  }
  if (o.detach)
    return 0;
  return supervise::wait_for(child, terminal.master.get(), o.interactive);
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-exec", USAGE, exec_main); }
