// SPDX-License-Identifier: MIT
#include "runtime/oci_runtime.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/clone.hpp"
#include "runtime/launch.hpp"
#include "runtime/oci_cgroup.hpp"
#include "runtime/oci_hooks.hpp"
#include "runtime/oci_init.hpp"
#include "runtime/oci_seccomp.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/start_report.hpp"
#include "store/container.hpp"
#include <cerrno>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::oci {

namespace {

std::string absolute(const std::string &path) {
  char real[PATH_MAX];
  if (!::realpath(path.c_str(), real))
    sys_fail("unable to find ", path);
  return real;
}

// The prestart and createRuntime hooks, run once the init asks for them (its mounts done, its
// cgroups joined), in koker-oci's namespaces with the init's pid as koker-oci sees it
// (runtime-spec "Lifecycle" steps 3 and 4).
void run_create_hooks(const Hooks &hooks, State st, pid_t pid) {
  st.pid = pid;
  run_hooks(hooks.prestart, "prestart", st, "creating");
  run_hooks(hooks.create_runtime, "createRuntime", st, "creating");
}

void write_pid_file(const std::string &path, pid_t pid) {
  if (path.empty())
    return;
  // A temporary name and a rename: clients read it as soon as it appears.
  sys::write_file_atomic(path, std::to_string(pid), 0644, false);
}

Fd pidfd_of(const State &st) {
  long fd = ::syscall(SYS_pidfd_open, st.pid, 0);
  if (fd < 0)
    return Fd();
  Fd pidfd(static_cast<int>(fd));
  if (!container::process_alive(st.pid, st.pid_start))
    return Fd(); // the pid was reused
  return pidfd;
}

} // namespace

State get(const std::string &root, const std::string &id) {
  auto st = load(root, id);
  if (!st)
    fail("container does not exist");
  return *st;
}

pid_t create(const CreateOptions &o) {
  std::string bundle = absolute(o.bundle);
  std::string config_path = bundle + "/config.json";
  Spec spec = parse_spec(sys::read_file(config_path, 16 << 20), config_path);
  if (spec.process.args.empty())
    fail("invalid ", config_path, ": process.args is empty");
  bool userns = clone_flags(spec) & CLONE_NEWUSER; // a new one, made at the clone
  if (userns && (spec.uid_mappings.empty() || spec.gid_mappings.empty()))
    fail("invalid ", config_path, ": a new user namespace needs linux.uidMappings and ",
         "linux.gidMappings");
  std::string rootfs = absolute(spec.root_path.empty() || spec.root_path[0] == '/'
                                    ? spec.root_path
                                    : bundle + "/" + spec.root_path);
  cgroup::Resources resources = create_resources(spec);
  std::optional<cgroup::Group> group = resolve_group(spec, o.id, o.systemd_cgroup, resources);
  if (rootless::active())
    group = rootless_group(std::move(*group), spec.resources, config_path);
  seccomp::Filter filter;
  if (spec.seccomp)
    filter = build_filter(*spec.seccomp);

  State st; // what state.json will hold, and what the hooks get on stdin before that
  st.id = o.id;
  st.bundle = bundle;
  st.rootfs = rootfs;
  st.created = sys::now_rfc3339();
  st.cgroup = group ? group->name() : std::string();
  st.systemd_cgroup = o.systemd_cgroup;
  st.annotations = spec.annotations;
  st.hooks = spec.hooks;

  create_dir(o.root, o.id);
  sys::Rollback undo;
  // runtime-spec "Lifecycle": a create that fails goes on at step 12 (undo it all), then 13,
  // the poststop hooks, so this step runs last, as runc's destroy does.
  undo.add("run the poststop hooks",
           [&st] { run_hooks_warn(st.hooks.poststop, "poststop", st, "stopped"); });
  std::string dir = dir_of(o.root, o.id);
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  Fd fifo(::open(fifo_of(o.root, o.id).c_str(), O_PATH | O_CLOEXEC));
  if (!fifo)
    sys_fail("unable to open ", fifo_of(o.root, o.id));
  // Recorded before anything is made: a create killed halfway leaves delete --force the way.
  if (group)
    record_group(o.root, o.id, *group);

  launch::Container c{std::move(spec), {}};
  c.init.rootfs = rootfs;
  c.init.fifo_fd = o.exec_at_once ? -1 : fifo.get();
  c.init.console_socket = o.console_socket;
  c.init.no_pivot = o.no_pivot;
  c.init.preserve_fds = o.preserve_fds;
  c.init.filter = std::move(filter);
  c.init.state = st;
  launch::Request req;
  req.oci_group = group;
  req.resources = std::move(resources);
  if (!st.hooks.prestart.empty() || !st.hooks.create_runtime.empty())
    req.create_hooks = [&st](pid_t pid) { run_create_hooks(st.hooks, st, pid); };
  pid_t pid;
  try {
    launch::Started s = launch::start(c, req, undo);
    if (!s.ready)
      fail("the container's init died while it was set up");
    pid = s.pid;
  } catch (const Error &e) {
    throw Error(e.what(), 1); // runc's code for every failure
  }
  st.pid = pid;

  st.pid_start = container::process_start_time(pid);
  save(o.root, st);
  write_pid_file(o.pid_file, pid);
  if (o.exec_at_once)
    ::unlink(fifo_of(o.root, o.id).c_str());
  undo.dismiss();
  // koker-oci run: the init is ready and has only its execve left, startContainer hooks
  // included: the poststart hooks' point ("Lifecycle" step 9), as runc's run has it.
  if (o.exec_at_once)
    run_hooks_warn(st.hooks.poststart, "poststart", st, "running");
  return pid;
}

void start(const std::string &root, const std::string &id) {
  State st = get(root, id);
  std::string s = status(root, st);
  if (s == "stopped")
    fail("cannot start a container that has stopped");
  if (s != "created")
    fail("cannot start an already running container");
  std::string fifo = fifo_of(root, id);
  // Non-blocking, so a dead init cannot hang start; its open for writing completes now.
  Fd r(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!r)
    sys_fail("unable to open ", fifo);
  struct pollfd p = {r.get(), POLLIN, 0};
  // The init answers once its startContainer hooks ran: their own timeouts bound the wait.
  bool hooks = !st.hooks.start_container.empty();
  for (int waited = 0; hooks || waited < 10000; waited += 50) {
    if (::poll(&p, 1, 50) > 0 && (p.revents & POLLIN)) {
      char got[4096];
      ssize_t n = ::read(r.get(), got, sizeof got);
      if (n >= 1) {
        ::unlink(fifo.c_str());
        if (got[0] != '0') // "1" and why a startContainer hook failed
          fail(printable(std::string_view(got + 1, static_cast<size_t>(n - 1)), sizeof got));
        // "Lifecycle" step 9: the command runs; a failing poststart hook is a warning.
        run_hooks_warn(st.hooks.poststart, "poststart", st, "running");
        return;
      }
    }
    if (!container::process_alive(st.pid, st.pid_start))
      break;
  }
  ::unlink(fifo.c_str());
  fail("cannot start a container that has stopped");
}

void kill(const std::string &root, const std::string &id, int sig, bool all) {
  State st = get(root, id);
  if (all) {
    // (A group whose own directories are all gone, its parents left, holds no process.)
    if (auto g = open_group(root, st); g && !g->paths().empty()) {
      if (sig == SIGKILL && g->frozen())
        g->freeze(false); // a frozen process never acts on the signal
      g->kill_all(sig);
      return;
    }
  }
  Fd pidfd = pidfd_of(st);
  if (!pidfd || status(root, st) == "stopped")
    fail("container not running");
  log::debug("pidfd_send_signal ", st.pid, " ", sig);
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0 && errno != ESRCH)
    sys_fail("unable to signal container ", id);
}

void remove(const std::string &root, const std::string &id, bool force) {
  auto st = load(root, id);
  if (!st) {
    if (force) {
      // What a create killed halfway left: its cgroup (recorded first), its directory.
      if (valid_id(id)) {
        if (auto g = open_group(root, id, "oci-" + id))
          g->remove(true);
        sys::rm_rf(dir_of(root, id));
      }
      return;
    }
    fail("container does not exist");
  }
  std::string s = status(root, *st);
  if (s != "stopped" && s != "created" && !force)
    fail("cannot delete container ", id, " that is not stopped: ", s);
  if (s != "stopped") {
    // Killing the init of a pid namespace kills all in it; the cgroup catches the rest.
    if (Fd pidfd = pidfd_of(*st))
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  }
  try {
    if (auto g = open_group(root, *st)) {
      if (g->frozen())
        g->freeze(false);
      g->remove(true);
    }
  } catch (const std::exception &e) {
    log::warn("unable to remove the cgroup of ", id, ": ", e.what());
  }
  sys::rm_rf(dir_of(root, id));
  // "Lifecycle" step 13: once the container is gone; a failure is a warning.
  run_hooks_warn(st->hooks.poststop, "poststop", *st, "stopped");
}

void pause(const std::string &root, const std::string &id) {
  State st = get(root, id);
  if (status(root, st) != "running")
    fail("container not running");
  auto g = open_group(root, st);
  if (!g)
    fail("unable to pause ", id, ": it has no cgroup");
  g->freeze(true);
}

void resume(const std::string &root, const std::string &id) {
  State st = get(root, id);
  if (status(root, st) != "paused")
    fail("container not paused");
  auto g = open_group(root, st);
  if (!g)
    fail("unable to resume ", id, ": it has no cgroup");
  g->freeze(false);
}

std::vector<pid_t> pids(const std::string &root, const std::string &id) {
  State st = get(root, id);
  auto g = open_group(root, st);
  return g ? g->pids() : std::vector<pid_t>{};
}

} // namespace koker::oci
