// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "base/sys.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/oci_init.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/supervise.hpp"
#include "store/container.hpp"
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>

// Starting a container's first process from its OCI config: the one engine under koker-run
// (in the foreground, or its -d supervisor, runtime/supervisor.hpp) and koker-oci
// (runtime/oci_runtime.hpp). Both hand it a parsed config.json and the init's options; the
// child's side is runtime/oci_init.hpp.
namespace koker::launch {

struct Container {
  oci::Spec spec;        // the bundle's config.json, parsed
  oci::InitOptions init; // its fds and on_go are filled in here
};

struct Request {
  std::string cgroup;    // the group's name under koker's parent (koker/<name>)
  cgroup::Limits limits; // checked already
  // Runs in this process once the child exists: the name, the record, the network, the files
  // the child binds. What it makes it adds undo steps for.
  std::function<void(pid_t)> after_clone;
  // koker-run relays signals to its container: block them until its wait loop takes them.
  bool relay_signals = false;
  // koker-oci's prestart and createRuntime hooks: run with the init's pid once the init
  // reaches their point (its mounts done, its cgroups joined), which then goes on.
  std::function<void(pid_t)> create_hooks;
  // koker-oci: the group resolved from cgroupsPath (cgroup::Group::resolve, nothing made yet)
  // and the linux.resources it gets, in place of cgroup and limits. Last, and initialised
  // here, so that koker-run's brace initialisation of the members above stays as it is.
  std::optional<cgroup::Group> oci_group = std::nullopt;
  cgroup::Resources resources = {};
  // Runs once the rest of the cgroup is made, before the child may go on: what after_clone
  // started and the child needs done by then (koker-run: the network's address). Work that
  // runs meanwhile elsewhere (koker-net) then overlaps the cgroups' making.
  std::function<void(pid_t)> before_go = {};
  // A network namespace made ahead (koker-run on a bridge: net/namespace.hpp), which the init
  // joins in place of the new one its config asks for; -1: none. The caller keeps it open
  // until after_clone at least (the child has its own copy from the clone on), and as long
  // as others need it by this process's descriptor (koker-net, net/attach.hpp).
  int net_namespace = -1;
};

struct Started {
  pid_t pid = -1;
  Fd master; // the pty, with process.terminal and no console socket
  Fd output; // the read end of a pipe carrying the container's output, when it is relayed
  std::optional<cgroup::Group> group;
  bool ready = false; // the init reported ready (koker-oci) rather than exec'd (koker-run)
};

// Clones the container's init into the namespaces its config asks for (and, on a unified
// tree, its cgroup), runs after_clone, makes the rest of its cgroup, runs before_go, then
// lets the child go on and waits until the
// init is ready or has exec'd its command. Undo steps for all it made go to undo. Throws the
// init's own start report (125, 126 or 127) when it could not.
Started start(const Container &c, const Request &req, sys::Rollback &undo);

// Marks rec as running with its first process pid (this process supervises it), and where
// its group was made: rootless on v2, the delegated subtree (Record::cgroup_parent).
void set_running(container::Record &rec, pid_t pid);

// Waits for the container, records how it ended (or removes it, with --rm) and releases what
// it held. Returns docker's exit code: the command's status, or 128+N after signal N.
// The container's output (from its pty or output pipe) goes to sink when set, else stdout.
// With restarting, the record's restart policy is looked at in the same update: *restarting
// says whether it starts the container again (the record says restarting, not exited).
// server: the supervisor's attach socket, served while the container runs.
int finish(const std::string &root, const container::Record &rec, Started &s, bool interactive,
           const supervise::Sink &sink = {}, bool *restarting = nullptr,
           attach::Server *server = nullptr);

} // namespace koker::launch
