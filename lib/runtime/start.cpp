// SPDX-License-Identifier: MIT
#include "runtime/start.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "net/attach.hpp"
#include "net/namespace.hpp"
#include "net/net.hpp"
#include "net/usermode.hpp"
#include "runtime/create.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/supervisor.hpp"
#include "runtime/userns.hpp"
#include <unistd.h>

namespace koker::start {

void on_clone(const std::string &root, container::Record &rec, sys::Rollback &undo, pid_t pid) {
  launch::set_running(rec, pid);
  std::string dir = container::dir_of(root, rec.id);
  log::debug("unlink ", dir, "/exit (a new run, a blank exit file)");
  ::unlink((dir + "/exit").c_str());
  container::reserve_exit_file(root, rec.id);
  bool stopped = false;
  container::update(root, rec.id, [&](container::Record &r) {
    // Only a restart finds the mark: a start cleared it.
    if ((stopped = r.manually_stopped))
      return;
    r.status = rec.status;
    r.pid = rec.pid;
    r.pid_start = rec.pid_start;
    r.supervisor = rec.supervisor;
    r.supervisor_start = rec.supervisor_start;
    r.started_at = rec.started_at;
    r.cgroup_parent = rec.cgroup_parent;
    r.exit_code = 0;
    r.error.clear();
    r.ip_address.clear();
    r.ip6_address.clear();
    rec.restart_count = r.restart_count;
  });
  if (stopped)
    fail("container ", rec.id.substr(0, 12), " was stopped while it restarted");
  start_network(root, rec, undo, pid);
  if (!rec.ip_address.empty())
    container::update(root, rec.id, [&](container::Record &r) { r.ip_address = rec.ip_address; });
}

namespace {
// The helper of the container this process runs (stop_network).
std::optional<net::usermode::Helper> running_helper;
// The container's network namespace, made ahead by prepare_network.
std::optional<net::NamespaceAhead> made_namespace;
// koker-net attach --ahead started by prepare_network; then, once it gave the addresses,
// until its exit is reaped (at this process's end: off the start's path).
std::optional<net::Attacher> prepared_attach, finished_attach;

} // namespace

void prepare_network(const std::string &mode) {
  // Rootless, a namespace made here would belong to koker's own user namespace, not the
  // container's, and a bridge is not koker's to plug (the attach at the start says so); the
  // user-mode networks' helpers join the container's namespace once it exists.
  if (userns::inside() || mode == "host" || net::usermode::is_usermode(mode))
    return;
  if (mode != "none") // the default bridge or user-defined networks
    prepared_attach.emplace(net::Attacher::Ahead{});
  made_namespace.emplace();
}

int plug_network(const container::Record &rec) {
  if (!made_namespace)
    return -1;
  int netns = made_namespace->get();
  if (prepared_attach)
    prepared_attach->plug(rec, netns);
  return netns;
}

void network_cloned() {
  // On a bridge koker-net opens it by this process's descriptor: start_network drops it.
  if (made_namespace && !prepared_attach)
    made_namespace->drop();
}

bool network_saves_record() {
  return prepared_attach.has_value();
}

void start_network(const std::string &root, container::Record &rec, sys::Rollback &undo, pid_t pid) {
  if (rec.network_mode == "none" || rec.network_mode == "host")
    return;
  std::string dir = container::dir_of(root, rec.id);
  if (net::usermode::is_usermode(rec.network_mode)) {
    net::usermode::Spec spec = net::usermode::parse(rec.network_mode);
    std::vector<net::Port> ports;
    for (const auto &p : rec.publish)
      ports.push_back(net::parse_port(p));
    stop_network(); // a restart's: the last run's helper holds the host ports
    running_helper = net::usermode::start(spec, pid, ports, dir);
    undo.add(cat("stop ", net::usermode::name(spec.mode)), [] { stop_network(); });
    rec.ip_address = net::usermode::container_address(spec);
  } else { // the default bridge or user networks
    if (prepared_attach) {
      net::Attacher ahead = std::move(*prepared_attach);
      prepared_attach.reset();
      // koker-net plugged the namespace made ahead: the record's first save has the
      // addresses; then the PID tells koker-net the record is there.
      ahead.take_addresses(rec);
      if (made_namespace) // koker-net has it open: the container has its own
        made_namespace->drop();
      undo.add("release " + rec.ip_address, [root, &rec] { net::release_container(root, rec); });
      create::commit_record(root, rec);
      ahead.give_pid(rec, pid);
      ahead.finish(rec);
      finished_attach = std::move(ahead);
    } else {
      rec.ip_address = net::attach_with_tool(rec, pid);
      undo.add("release " + rec.ip_address, [root, &rec] { net::release_container(root, rec); });
    }
  }
  create::write_hosts(dir, rec);
}

void stop_network() {
  if (running_helper)
    running_helper->stop();
  running_helper.reset();
}

launch::Request request(const container::Record &rec) {
  launch::Request req;
  req.cgroup = rec.id;
  if (rec.memory > 0) {
    req.limits.memory = static_cast<uint64_t>(rec.memory);
    if (rec.memory_swap == -1)
      req.limits.swap = cgroup::UNLIMITED;
    else if (rec.memory_swap > rec.memory)
      req.limits.swap = static_cast<uint64_t>(rec.memory_swap - rec.memory);
  }
  if (rec.nano_cpus > 0)
    req.limits.nano_cpus = static_cast<uint64_t>(rec.nano_cpus);
  if (rec.pids_limit > 0)
    req.limits.pids = static_cast<uint64_t>(rec.pids_limit);
  req.relay_signals = true;
  return req;
}

std::optional<int> run(const store::Store &store, const container::Record &found, bool attach,
                       bool interactive, Fd *attacher) {
  const std::string root = store.root();
  auto settled = lifecycle::settle(root, found);
  if (!settled)
    fail("no such container: ", found.id.substr(0, 12));
  container::Record rec = *settled;
  // A supervisor may still be recording the last exit and releasing what the run held,
  // the record saying "running" until it has: wait for it whenever the process is gone.
  if (rec.status == "running" ? !container::process_alive(rec.pid, rec.pid_start)
                               : rec.status != "restarting")
    lifecycle::wait_for_supervisor(rec);
  bool busy = false;
  // Claimed under the lock: the start's own pid as the supervisor says a start is under way
  // (so that no other tool takes the root it mounts for stale); the user's stop forgotten.
  container::update(root, rec.id, [&](container::Record &r) {
    r = container::refresh(root, r);
    if ((busy = r.status == "running" || r.status == "restarting" ||
                container::process_alive(r.supervisor, r.supervisor_start)))
      return;
    r.manually_stopped = false;
    r.supervisor = static_cast<int>(::getpid());
    r.supervisor_start = container::process_start_time(r.supervisor);
    rec = r;
  });
  if (busy) {
    log::debug("container ", rec.id.substr(0, 12), " runs already: nothing to do (docker)");
    return std::nullopt;
  }
  sys::Rollback undo;
  std::string dir = container::dir_of(root, rec.id);
  create::mount_root(store, rec, undo);
  rec.ip_address.clear();
  rec.ip6_address.clear();
  create::write_etc_files(dir, rec, false);
  create::Bundle b = create::read_bundle(store, rec);
  launch::Request req = request(rec);
  req.after_clone = [&](pid_t pid) { on_clone(root, rec, undo, pid); };
  if (!attach) {
    supervisor::start_detached(root, rec, b.container, req, undo, attacher);
    return std::nullopt;
  }
  b.container.init.stdin_null = !(interactive && rec.open_stdin);
  return supervisor::foreground(root, rec, b.container, req, undo, interactive && rec.open_stdin);
}

} // namespace koker::start
