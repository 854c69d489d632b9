// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <termios.h>

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

// Puts the terminal on fd into raw mode for the life of the object, as docker -t does (its
// keys, ctrl-C too, go to the container's terminal as bytes). Nothing when fd is no terminal.
class RawMode {
public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode &) = delete;
  RawMode &operator=(const RawMode &) = delete;

private:
  int m_fd;
  struct termios m_saved {};
  bool m_active = false;
};

} // namespace koker::pty
