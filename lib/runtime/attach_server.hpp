// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "runtime/attach_socket.hpp"
#include <list>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

// The supervisor's side of the attach socket (runtime/attach_socket.hpp): it accepts any
// number of attachers, sends each the container's output as it relays it and the exit code at
// the end, and passes what they send on: stdin bytes to the container's pty master (-t) or to
// the stdin pipe it holds open (-i, as docker keeps a -i container's stdin open), window sizes
// to the pty, signals to the process. Single-threaded: it lives in the supervisor's poll loop
// (runtime/supervise.hpp wait_for), every descriptor non-blocking, so that a stuck attacher or
// container never stops the relay.
namespace koker::attach {

class Server {
public:
  explicit Server(Fd listener) : m_listener(std::move(listener)) {}

  // A run of the container begins: its process, its pty master (-t; this does not own it) or
  // the write end of its stdin pipe (-i), and docker's StdinOnce.
  void begin_run(pid_t pid, int master, Fd stdin_pipe, bool stdin_once);
  // Appends the descriptors to poll; handle() takes the same entries after poll(2).
  void poll_fds(std::vector<struct pollfd> &fds);
  void handle(const struct pollfd *fds);
  // The container's output, for every attacher.
  void output(std::string_view data);
  // The run is over: each attacher gets the code, then is let go (docker attach ends when
  // the container stops); stdin is closed.
  void end_run(int code);

private:
  struct Client {
    Fd fd;
    FrameReader in;
    std::string out; // not sent yet (the attacher reads slowly)
  };
  void accept_all();
  void from_client(Client &c);
  void to_stdin(std::string_view data);
  void flush_stdin();
  void close_stdin();

  Fd m_listener;
  std::list<Client> m_clients;
  size_t m_polled = 0; // the clients poll_fds() listed
  pid_t m_pid = -1;
  int m_master = -1;
  Fd m_pipe;
  bool m_stdin_once = false;
  bool m_closing = false; // close the pipe once pending is written
  std::string m_pending;  // stdin not taken by the container yet
};

} // namespace koker::attach
