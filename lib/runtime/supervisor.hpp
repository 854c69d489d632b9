// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include "runtime/launch.hpp"
#include "store/container.hpp"
#include <string>

// The -d supervisor: one process per detached container, like podman's conmon, and no daemon.
// It starts the container with its output going to containers/<id>/container.log, tells the
// koker-run that forked it that the container runs, then waits for it, records how it ended
// and releases what it held (runtime/launch.hpp finish). For a container run with -i or -t
// it also serves an attach socket (runtime/attach_server.hpp). While the container's restart
// policy says so (runtime/restart.hpp), it starts it again: its root mounted again, a fresh
// process, cgroup and address each time.
namespace koker::supervisor {

// Forks the supervisor and returns once the container runs; throws the container's start
// report when it could not start (the supervisor has undone what it made by then). rec is
// the supervisor's copy to fill in (after_clone sets its name and address); undo holds what
// this process made before, which the supervisor takes over. A container with -i or -t gets
// an attach socket (runtime/attach_socket.hpp) its supervisor serves; with attacher, this
// process connects to it first (koker-start -a: no output missed) and returns the connection
// there.
void start_detached(const std::string &root, container::Record &rec, const launch::Container &c,
                    const launch::Request &req, sys::Rollback &undo, Fd *attacher = nullptr);

// The container in the foreground (koker-run without -d, koker-start -a): its output relayed
// to stdout (stdin to it with interactive), its exit code returned. With a restart policy this
// process carries it out as the -d supervisor does, relaying each run's output, until the
// policy gives up or koker-stop ends it; the last run's code is returned.
int foreground(const std::string &root, container::Record &rec, const launch::Container &c,
               const launch::Request &req, sys::Rollback &undo, bool interactive);

} // namespace koker::supervisor
