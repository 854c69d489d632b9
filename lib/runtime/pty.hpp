// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>

// A container's pseudo-terminal, always from the container's own devpts instance (so the
// pts exists inside it), as koker-run's child and koker-exec both need one.
namespace koker::pty {

struct Pty {
  Fd master;
  std::string slave; // "/dev/pts/N", as the container sees it
};

// A new pty from ptmx, an open /dev/pts/ptmx of the container's devpts: unlocked and
// numbered. Throws on failure.
Pty open(Fd ptmx);
// In the process about to exec, after setsid: opens slave, makes it the controlling terminal
// and stdin, stdout and stderr.
void attach(const std::string &slave);
// Connects to a console socket (runc's protocol: the caller then sends the pty master on it,
// one SCM_RIGHTS message, sys::send_fd). Throws naming the socket.
Fd connect_console(const std::string &path);
// Gives master the window size of the terminal on fd 0, if there is one.
void copy_window_size(int master);

} // namespace koker::pty
