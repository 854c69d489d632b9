// SPDX-License-Identifier: MIT
// koker-run: create and start a container from a stored image.
#include "cgroup.hpp"
#include "container.hpp"
#include "error.hpp"
#include "image.hpp"
#include "init.hpp"
#include "lifecycle.hpp"
#include "log.hpp"
#include "main.hpp"
#include "net.hpp"
#include "run_options.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "sys.hpp"
#include <csignal>
#include <cstring>
#include <optional>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

namespace {

// The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written into its directory
// (new, and private to koker: no temporary names needed) and bound in by the child.
void write_etc_files(const std::string &dir, const container::Record &rec) {
  sys::write_new_file(dir + "/hostname", rec.hostname + "\n");
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!rec.ip_address.empty())
    hosts += cat(rec.ip_address, "\t", rec.hostname, rec.name.empty() ? "" : " " + rec.name, "\n");
  sys::write_new_file(dir + "/hosts", hosts);
  sys::write_new_file(dir + "/resolv.conf", run::host_resolv_conf());
}

struct Started {
  pid_t pid = -1;
  Fd master; // the pty, with -t
};

// One byte to the waiting child. EPIPE means it already failed; its report says why.
void tell_child(int fd, char step) {
  if (::write(fd, &step, 1) < 0 && errno != EPIPE)
    sys_fail("unable to signal the container process");
}

// Clones the container process into its namespaces, runs after_clone (the name, the record,
// the network, the files the child binds), makes the rest of its cgroup, then waits until the
// child has exec'd its command. Throws the child's own report (125, 126 or 127) when it could
// not.
Started start(const run::Options &o, const init::Spec &spec, const std::string &id,
              const cgroup::Limits &limits, std::optional<cgroup::Group> &group,
              sys::Rollback &undo, const std::function<void(pid_t)> &after_clone) {
  int sync[2], report[2], console[2] = {-1, -1};
  check(::pipe2(sync, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(report, O_CLOEXEC), "unable to create a pipe");
  if (o.tty)
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console),
          "unable to create the console socket");
  Fd sync_w(sync[1]), report_r(report[0]), console_parent(console[0]);

  cgroup::Seed seed;
  group = cgroup::Group::prepare(id, limits, seed);
  undo.add("remove the cgroup", [g = *group]() mutable { g.remove(true); });

  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;
  if (spec.own_uts)
    flags |= CLONE_NEWUTS;
  if (spec.own_net)
    flags |= CLONE_NEWNET;
  if (spec.cgroup_ns)
    flags |= CLONE_NEWCGROUP;
  supervise::block_signals();
  log::debug("clone(", run::clone_flags_string(flags), ")",
             seed.unified ? cat(" into cgroup ", seed.unified_path, " (clone3 CLONE_INTO_CGROUP)")
                          : "");
  bool placed = false;
  pid_t pid = cgroup::fork_into(seed, flags, &placed);
  if (pid < 0)
    sys_fail("unable to clone the container process");
  if (pid == 0) {
    ::close(sync[1]);
    ::close(report[0]);
    if (console[0] >= 0)
      ::close(console[0]);
    init::run(spec, sync[0], report[1], console[1], [&seed, &id] { cgroup::join_self(seed, id); });
  }
  ::close(sync[0]);
  ::close(report[1]);
  if (console[1] >= 0)
    ::close(console[1]);
  Started s;
  s.pid = pid;
  log::debug("container process ", pid, " in new namespaces",
             placed ? " and in its unified cgroup" : "");
  undo.add("kill the container process", [p = s.pid] {
    ::kill(p, SIGKILL);
    ::waitpid(p, nullptr, 0);
  });
  after_clone(s.pid);
  tell_child(sync_w.get(), 'e');
  // The v1 groups are made only now, while the child builds its root; it joins them itself.
  group->create_v1(limits);
  if (!placed)
    group->add_unified(s.pid);
  tell_child(sync_w.get(), 'g');
  sync_w.reset();
  if (o.tty) {
    s.master = sys::receive_fd(console_parent.get()); // the pty the child made inside
    if (!s.master)
      fail("unable to receive the container's pty");
    struct winsize ws;
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0)
      ::ioctl(s.master.get(), TIOCSWINSZ, &ws);
    if (::write(console_parent.get(), "s", 1) < 0 && errno != EPIPE)
      sys_fail("unable to acknowledge the pty");
  }
  std::string failure = sys::read_fd(report_r.get(), 64 << 10);
  if (!failure.empty())
    throw Error(failure.substr(1), static_cast<unsigned char>(failure[0]));
  return s;
}

// Waits for the container, records how it ended and releases what it held.
int finish(const std::string &root, container::Record rec, Started &s, cgroup::Group *group,
           bool interactive) {
  int code = supervise::wait_for(s.pid, s.master.get(), interactive);
  bool oom = false;
  if (group && code == 137) { // SIGKILL: was it the OOM killer's?
    auto stats = group->stats();
    oom = stats.oom_kills && *stats.oom_kills > 0;
  }
  if (oom)
    log::warn("container ", rec.id.substr(0, 12), " was killed by the OOM killer (memory limit)");
  log::debug("container ", rec.id.substr(0, 12), " exited with ", code);
  rec.status = "exited";
  if (rec.auto_remove) {
    // The record goes with the container: no point writing how it ended. remove() releases
    // the cgroup and network too; if someone removed the container meanwhile, they did.
    if (sys::exists(container::dir_of(root, rec.id))) {
      log::debug("removing container ", rec.id.substr(0, 12), " (--rm)");
      lifecycle::remove_reaped(root, rec, group);
    }
    return code;
  }
  std::string finished = sys::now_rfc3339();
  container::update(root, rec.id, [&](container::Record &r) {
    r.status = "exited";
    r.exit_code = code;
    r.oom_killed = oom;
    r.finished_at = finished;
  });
  lifecycle::release_resources(root, rec, group);
  return code;
}

// The record says "running" from its first save on, made once the process exists: a
// command that then fails to exec takes the whole container away again.
void set_running(container::Record &rec, pid_t pid) {
  rec.status = "running";
  rec.pid = pid;
  rec.pid_start = container::process_start_time(pid);
  rec.supervisor = static_cast<int>(::getpid());
  rec.supervisor_start = container::process_start_time(rec.supervisor);
  rec.started_at = sys::now_rfc3339();
}

// -d: a supervisor process (one per container, like conmon, no daemon) starts the container
// with its output going to containers/<id>/container.log, tells this process it runs, and
// then waits for it. This process prints the ID and returns.
int detach(const run::Options &o, container::Record &rec, const init::Spec &spec,
           const std::string &root, const cgroup::Limits &limits, sys::Rollback &undo,
           const std::function<void(pid_t)> &after_clone) {
  int ready[2];
  check(::pipe2(ready, O_CLOEXEC), "unable to create a pipe");
  std::string log_path = container::dir_of(root, rec.id) + "/container.log";
  // The supervisor lives as long as the container: hand the heap freed so far (libseccomp's,
  // the first time a store builds its filter) back before it is copied.
  ::malloc_trim(0);
  pid_t sup = ::fork();
  if (sup < 0)
    sys_fail("unable to fork the supervisor");
  if (sup == 0) {
    ::close(ready[0]);
    Fd ready_w(ready[1]);
    int code = 125;
    try {
      ::setsid();
      Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
      Fd logfd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
      if (!null || !logfd)
        sys_fail("unable to open ", log_path);
      // Let go of the caller's stdin and stdout at once ($(koker-run -d) must not wait for
      // the supervisor); stderr stays until the container runs, for errors and the -D trace.
      ::dup2(null.get(), 0);
      ::dup2(logfd.get(), 1);
      log::debug("supervisor ", ::getpid(), ": the container's output goes to ", log_path);
      init::Spec with_log = spec;
      with_log.output_fd = logfd.get();
      with_log.process.die_with_parent = false;
      std::optional<cgroup::Group> group;
      Started s = start(o, with_log, rec.id, limits, group, undo, after_clone);
      undo.dismiss();
      ::dup2(logfd.get(), 2);
      log::set_level(log::Level::quiet); // nobody reads the supervisor's stderr now
      sys::write_fd(ready_w.get(), "ok", "the ready signal");
      ready_w.reset();
      code = finish(root, rec, s, &*group, false);
    } catch (const Error &e) {
      undo.run_now(); // _exit below skips destructors
      std::string msg = cat(static_cast<char>(e.exit_code()), e.what());
      ssize_t ignored = ::write(ready_w.get(), msg.data(), msg.size());
      (void)ignored;
    } catch (const std::exception &e) {
      undo.run_now();
      std::string msg = cat(static_cast<char>(125), "internal error: ", e.what());
      ssize_t ignored = ::write(ready_w.get(), msg.data(), msg.size());
      (void)ignored;
    }
    ::_exit(code);
  }
  ::close(ready[1]);
  undo.dismiss(); // the supervisor owns the clean-up now
  Fd ready_r(ready[0]);
  std::string answer = sys::read_fd(ready_r.get(), 64 << 10);
  if (answer != "ok") {
    ::waitpid(sup, nullptr, 0);
    if (answer.empty())
      fail("the supervisor of container ", rec.id.substr(0, 12), " died while starting it");
    throw Error(answer.substr(1), static_cast<unsigned char>(answer[0]));
  }
  out::line(rec.id);
  return 0;
}

int run_main(int argc, char **argv) {
  // A child that failed closes its pipes early: writing to them must not kill koker-run.
  ::signal(SIGPIPE, SIG_IGN);
  run::Options o = run::parse(argc, argv);
  cgroup::Limits limits = run::parse_limits(o);
  store::Store store(store_root());
  store::ImageRecord img = run::resolve_image(store, o.image);
  auto config_body = store.read_blob(img.id, image::max_config_size);
  if (!config_body)
    fail("unable to read the config of image ", img.id);
  image::Config cfg = image::parse_config(*config_body);

  container::Record rec = run::make_record(o, img, cfg, limits);
  const std::string root = store.root();
  std::string dir = container::dir_of(root, rec.id);
  sys::Rollback undo;
  sys::mkdir_p(root + "/containers", 0700);
  log::debug("mkdir ", dir, " {upper,work}");
  check(::mkdir(dir.c_str(), 0700), "unable to create ", dir);
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  for (const char *sub : {"/upper", "/work"})
    check(::mkdir((dir + sub).c_str(), 0755), "unable to create ", dir, sub);
  init::Spec spec = run::make_spec(o, rec, store, img, dir);
  // The rest of the set-up, once the child exists: its network needs its PID.
  auto after_clone = [&](pid_t pid) {
    if (rec.name.empty())
      rec.name = container::claim_generated_name(root, rec.id);
    else
      container::claim_name(root, rec.name, rec.id);
    undo.add("release the name " + rec.name,
             [root, name = rec.name] { container::release_name(root, name); });
    set_running(rec, pid);
    container::save(root, rec);
    if (o.network == "bridge") {
      // The address now, before /etc/hosts, which names it.
      rec.ip_address = run::attach_to_bridge(rec, pid);
      undo.add("release " + rec.ip_address, [root, &rec] { net::release_container(root, rec); });
    }
    write_etc_files(dir, rec);
    if (!o.cidfile.empty()) {
      Fd cid(::open(o.cidfile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!cid)
        sys_fail("unable to create the cidfile ", o.cidfile);
      sys::write_fd(cid.get(), rec.id, o.cidfile);
    }
  };
  if (o.detach)
    return detach(o, rec, spec, root, limits, undo, after_clone);

  std::optional<cgroup::Group> group;
  Started s = start(o, spec, rec.id, limits, group, undo, after_clone);
  undo.dismiss();
  return finish(root, rec, s, &*group, o.interactive);
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-run", run::USAGE, run_main); }
