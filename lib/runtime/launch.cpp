// SPDX-License-Identifier: MIT
#include "runtime/launch.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/clone.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/pty.hpp"
#include "runtime/restart.hpp"
#include "runtime/start_report.hpp"
#include "runtime/supervise.hpp"
#include "runtime/userns.hpp"
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::launch {

namespace {

// One byte to the waiting child. EPIPE means it already failed; its report says why.
void tell_child(int fd, char step) {
  if (::write(fd, &step, 1) < 0 && errno != EPIPE)
    sys_fail("unable to signal the container process");
}

// The pty the child made inside its devpts, sized like ours; the child waits for the ack.
Fd receive_console(int sock) {
  Fd master = sys::receive_fd(sock);
  if (!master)
    fail("unable to receive the container's pty");
  pty::copy_window_size(master.get());
  if (::write(sock, "s", 1) < 0 && errno != EPIPE)
    sys_fail("unable to acknowledge the pty");
  return master;
}

// A new user namespace's id maps, which only a process outside it may write (user_namespaces(7));
// the init waits for them ('u'). Each map goes in one write, as the kernel requires.
void write_id_maps(pid_t pid, const oci::Spec &spec, int sync_fd) {
  auto write_map = [pid](const char *file, const std::vector<oci::IdMapping> &maps) {
    std::string text, path = cat("/proc/", pid, "/", file);
    for (const auto &m : maps)
      text += cat(m.container_id, " ", m.host_id, " ", m.size, "\n");
    log::debug("write ", path, " ", printable(text));
    Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f)
      sys_fail("unable to open ", path);
    sys::write_fd(f.get(), text, path);
  };
  write_map("uid_map", spec.uid_mappings);
  write_map("gid_map", spec.gid_mappings);
  if (::write(sync_fd, "u", 1) < 0)
    sys_fail("unable to signal the container's init");
}

// A pid namespace given by path holds the children of the process that joined it (setns(2)):
// the runtime enters it for the clone, then goes back to its own for what it forks later (the
// hooks). Nothing without one.
class PidNamespaceForClone {
public:
  explicit PidNamespaceForClone(const oci::Spec &spec) {
    const oci::Namespace *ns = spec.find_namespace("pid");
    if (!ns || ns->path.empty())
      return;
    m_own = Fd(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    Fd target(::open(ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!m_own || !target)
      sys_fail("unable to open namespace ", ns->path);
    log::debug("setns(", ns->path, ", pid) for the init's clone");
    check(::setns(target.get(), CLONE_NEWPID), "unable to join the pid namespace ", ns->path);
  }
  // In the parent only: the init never comes back here.
  void leave() {
    if (m_own && ::setns(m_own.get(), CLONE_NEWPID) < 0)
      sys_fail("unable to return to the runtime's pid namespace");
    m_own.reset();
  }

private:
  Fd m_own;
};

// Rootless koker (runtime/userns.hpp) makes its group in the cgroup v2 subtree delegated to
// the user (cgroup::probe, Host::delegated). Elsewhere (v1, hybrid, or v2 with nothing
// delegated) it may not, and limits are not applied, with one warning (podman's behaviour);
// with no limit asked, nothing is said and no cgroup is touched.
// The subtree delegated to a rootless caller, else "": for root, and where the host shows no
// cgroups at all (a rootless container needs none, so that is no reason to fail).
std::string delegated_subtree() {
  if (!userns::inside())
    return "";
  try {
    return cgroup::probe().delegated;
  } catch (const Error &e) {
    log::debug("rootless: no cgroups here: ", e.what());
    return "";
  }
}

bool rootless_without_cgroup(const cgroup::Limits &limits) {
  if (!userns::inside() || !delegated_subtree().empty())
    return false;
  if (!limits.empty())
    log::warn("rootless: cgroup limits were not applied (no delegated cgroup v2 subtree)");
  log::debug("rootless: no cgroup for this container");
  return true;
}

} // namespace

Started start(const Container &c, const Request &req, sys::Rollback &undo) {
  // process.terminal without a console socket: koker-run's own pty, over a socketpair.
  bool own_console = c.spec.process.terminal && c.init.console_socket.empty();
  int sync[2], report[2], console[2] = {-1, -1}, hooks[2] = {-1, -1};
  check(::pipe2(sync, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(report, O_CLOEXEC), "unable to create a pipe");
  if (req.create_hooks)
    check(::pipe2(hooks, O_CLOEXEC), "unable to create a pipe");
  if (own_console)
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console),
          "unable to create the console socket");
  Fd sync_w(sync[1]), report_r(report[0]), console_parent(console[0]), hooks_r(hooks[0]);

  Started s;
  cgroup::Seed seed;
  if (req.oci_group) {
    s.group = *req.oci_group;
    s.group->prepare(seed);
  } else if (!rootless_without_cgroup(req.limits)) {
    s.group = cgroup::Group::prepare(req.cgroup, req.limits, seed);
  }
  if (s.group)
    undo.add("remove the cgroup", [g = *s.group]() mutable { g.remove(true); });
  // The directory the child joins in each v1 hierarchy: koker/NAME's NAME, or the last part of
  // an OCI group's path.
  std::string leaf = s.group ? s.group->leaf() : std::string();

  unsigned long flags = oci::clone_flags(c.spec);
  bool net_ahead = req.net_namespace >= 0 && (flags & CLONE_NEWNET);
  if (net_ahead)
    flags &= ~static_cast<unsigned long>(CLONE_NEWNET); // the init joins the one made ahead
  bool userns = flags & CLONE_NEWUSER; // a new one, made at the clone
  if (req.relay_signals)
    supervise::block_signals();
  log::debug("clone(", clone::flags_string(flags), ")",
             seed.unified ? cat(" into cgroup ", seed.unified_path, " (clone3 CLONE_INTO_CGROUP)")
                          : "");
  // The init's options, filled in here: in the child every page written is a copy-on-write
  // fault, and there are enough of those (each one shows in the start time).
  oci::InitOptions io = c.init;
  io.report_fd = report[1];
  io.sync_fd = sync[0];
  io.console_fd = console[1];
  io.hooks_fd = hooks[1];
  io.net_namespace = net_ahead ? req.net_namespace : -1;
  // Root of a new user namespace, the init may not write the cgroups' files: the parent
  // moves it into them instead.
  if (!userns && s.group)
    io.on_go = [&seed, &leaf] { cgroup::join_self(seed, leaf); };
  bool placed = false;
  PidNamespaceForClone pidns(c.spec);
  pid_t pid = clone::into_cgroup(seed, flags, &placed);
  if (pid == 0) {
    ::close(sync[1]);
    ::close(report[0]);
    for (int fd : {console[0], hooks[0]})
      if (fd >= 0)
        ::close(fd);
    oci::run_init(c.spec, io);
  }
  pidns.leave();
  if (pid < 0)
    sys_fail("unable to clone the container process");
  ::close(sync[0]);
  ::close(report[1]);
  for (int fd : {console[1], hooks[1]})
    if (fd >= 0)
      ::close(fd);
  s.pid = pid;
  log::debug("container process ", pid, " in new namespaces",
             placed ? " and in its unified cgroup" : "");
  undo.add("kill the container process", [pid] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
  if (req.after_clone)
    req.after_clone(pid);
  if (userns)
    write_id_maps(pid, c.spec, sync_w.get());
  // The v1 groups are made only now, while the child builds its root; it joins them itself.
  if (req.oci_group)
    s.group->create_v1(req.resources);
  else if (s.group)
    s.group->create_v1(req.limits);
  if (s.group && userns)
    s.group->add(pid);
  else if (s.group && !placed)
    s.group->add_unified(pid);
  tell_child(sync_w.get(), 'c'); // it joins them, and goes on up to the exec
  if (req.before_go)
    req.before_go(pid);
  tell_child(sync_w.get(), 'g');
  if (req.create_hooks) {
    // One byte once the init reached their point; end of file if it failed before, and its
    // report says why.
    char byte = 0;
    ssize_t n;
    while ((n = ::read(hooks_r.get(), &byte, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) {
      start_report::wait(report_r.get());
      fail("the container's init died while it was set up");
    }
    req.create_hooks(pid);
    tell_child(sync_w.get(), 'r');
  }
  sync_w.reset();
  if (own_console)
    s.master = receive_console(console_parent.get());
  s.ready = start_report::wait(report_r.get());
  return s;
}

void set_running(container::Record &rec, pid_t pid) {
  rec.status = "running";
  rec.paused = false;
  rec.pid = pid;
  rec.pid_start = container::process_start_time(pid);
  rec.supervisor = static_cast<int>(::getpid());
  rec.supervisor_start = container::process_start_time(rec.supervisor);
  rec.started_at = sys::now_rfc3339();
  // The subtree start() made the group in a moment before (same process, same own group)
  rec.cgroup_parent = delegated_subtree();
}

int finish(const std::string &root, const container::Record &rec, Started &s, bool interactive,
           const supervise::Sink &sink, bool *restarting, attach::Server *server) {
  int relay = s.master ? s.master.get() : s.output.get();
  int code = supervise::wait_for(s.pid, relay, interactive, sink, server);
  cgroup::Group *group = s.group ? &*s.group : nullptr;
  bool oom = false;
  if (group && code == 137) { // SIGKILL: was it the OOM killer's?
    auto stats = group->stats();
    oom = stats.oom_kills && *stats.oom_kills > 0;
  }
  if (oom)
    log::warn("container ", rec.id.substr(0, 12), " was killed by the OOM killer (memory limit)");
  log::debug("container ", rec.id.substr(0, 12), " exited with ", code);
  if (rec.auto_remove) {
    // The record goes with the container: no point writing how it ended. remove() releases
    // the cgroup and network too; if someone removed the container meanwhile, they did.
    if (sys::exists(container::dir_of(root, rec.id))) {
      log::debug("removing container ", rec.id.substr(0, 12), " (--rm)");
      lifecycle::remove_reaped(root, rec, group);
    }
    return code;
  }
  // The exit file first: it takes no new block, so a full disk cannot lose the code. Then the
  // record, and whatever happens to it, the resources.
  container::Exit end{code, sys::now_rfc3339(), oom};
  container::record_exit(root, rec.id, end);
  try {
    container::update(root, rec.id, [&](container::Record &r) {
      r.status = "exited";
      r.exit_code = end.code;
      r.oom_killed = end.oom_killed;
      r.finished_at = end.finished_at;
      if (restarting)
        *restarting = restart::decide(r, end.code);
    });
  } catch (const Error &e) {
    log::warn("unable to save how container ", rec.id.substr(0, 12), " ended (its exit file ",
              "keeps it): ", e.what());
  }
  lifecycle::release_resources(root, rec, group);
  return code;
}

} // namespace koker::launch
