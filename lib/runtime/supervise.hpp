// SPDX-License-Identifier: MIT
#pragma once
#include <csignal>
#include <functional>
#include <string_view>
#include <sys/types.h>

// The parent's side of a running container: forwards signals to it, relays its pty, and waits
// for it to exit.
namespace koker::attach {
class Server;
}

namespace koker::supervise {

// The signals forwarded to the container. Block them (with SIGCHLD) before cloning, so none
// is lost between clone and the wait loop; the child unblocks them before execve.
sigset_t forwarded_signals();
void block_signals();

// Where relayed output goes: stdout when unset.
using Sink = std::function<void(std::string_view)>;

// Forwards every signal in forwarded_signals() to pid; when master_fd >= 0 (a pty, or a pipe
// carrying the container's output), copies stdin to it (if interactive) and it to sink, in raw
// mode with the window size kept in step (SIGWINCH). With server (a detached -i or -t
// container's supervisor), serves its attachers in the same loop. Returns docker's exit code
// for pid: its status, or 128+N when killed by signal N.
int wait_for(pid_t pid, int master_fd, bool interactive, const Sink &sink = {},
             attach::Server *server = nullptr);

// docker's code for a wait status.
int exit_code(int status);

} // namespace koker::supervise
