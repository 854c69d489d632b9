// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "base/sys.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/init.hpp"
#include "runtime/supervise.hpp"
#include "store/container.hpp"
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>

// Starting a container's first process and waiting for it: what koker-run does in the
// foreground and its -d supervisor (runtime/supervisor.hpp) does in the background.
namespace koker::launch {

struct Request {
  std::string id;        // the container's, which names its cgroup
  cgroup::Limits limits; // checked already
  // Runs in this process once the child exists: the name, the record, the network, the files
  // the child binds. What it makes it adds undo steps for.
  std::function<void(pid_t)> after_clone;
};

struct Started {
  pid_t pid = -1;
  Fd master; // the pty, with -t
  Fd output; // the read end of a pipe carrying the container's output, when it is relayed
  std::optional<cgroup::Group> group;
};

// Clones the container's first process into its namespaces (and, on a unified tree, its
// cgroup), runs after_clone, makes the rest of its cgroup, then waits until the child has
// exec'd its command. Undo steps for all it made go to undo. Throws the child's own start
// report (125, 126 or 127) when it could not.
Started start(const init::Spec &spec, const Request &req, sys::Rollback &undo);

// Marks rec as running with its first process pid (this process supervises it).
void set_running(container::Record &rec, pid_t pid);

// Waits for the container, records how it ended (or removes it, with --rm) and releases what
// it held. Returns docker's exit code: the command's status, or 128+N after signal N.
// The container's output (from its pty or output pipe) goes to sink when set, else stdout.
int finish(const std::string &root, const container::Record &rec, Started &s, bool interactive,
           const supervise::Sink &sink = {});

} // namespace koker::launch
