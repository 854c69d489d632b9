// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include "runtime/launch.hpp"
#include "store/container.hpp"
#include <string>

// The -d supervisor: one process per detached container, like podman's conmon, and no daemon.
// It starts the container with its output going to containers/<id>/container.log, tells the
// koker-run that forked it that the container runs, then waits for it, records how it ended
// and releases what it held (runtime/launch.hpp finish).
namespace koker::supervisor {

// Forks the supervisor and returns once the container runs; throws the container's start
// report when it could not start (the supervisor has undone what it made by then). rec is
// the supervisor's copy to fill in (after_clone sets its name and address); undo holds what
// this process made before, which the supervisor takes over.
void start_detached(const std::string &root, container::Record &rec, const launch::Container &c,
                    const launch::Request &req, sys::Rollback &undo);

} // namespace koker::supervisor
