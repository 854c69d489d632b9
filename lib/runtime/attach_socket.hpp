// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <string_view>

// The attach socket of a detached container run with -i or -t: containers/<id>/attach, a
// unix socket (0600, in the 0700 store: root's alone) its supervisor serves, as conmon's
// attach socket. Both ways it carries frames: a type byte, a 4-byte little-endian length,
// the payload. koker-attach and koker-start -a are its clients (runtime/attach_client.hpp),
// the supervisor its server (runtime/attach_server.hpp).
namespace koker::attach {

// Client to supervisor: stdin bytes, stdin's end, a window size (rows, cols: 2 bytes each),
// a signal for the container's process (4 bytes). Supervisor to client: output bytes, and the
// exit code (4 bytes) once the container ended.
enum Frame : char {
  STDIN = 'i',
  CLOSE_STDIN = 'c',
  RESIZE = 'w',
  SIGNAL = 'k',
  OUTPUT = 'o',
  EXIT = 'x',
};

// One frame, ready to send.
std::string frame(Frame type, std::string_view payload = {});
std::string frame_u32(Frame type, uint32_t value);
uint32_t u32_of(std::string_view payload); // 0 when too short

// Splits a byte stream into frames.
class FrameReader {
public:
  void feed(std::string_view data) { m_buf.append(data); }
  // The next whole frame, if one has arrived.
  bool next(char &type, std::string &payload);

private:
  std::string m_buf;
};

// Listens on the container directory dir's socket (a stale one from a dead supervisor is
// replaced). Throws naming the socket.
Fd listen(const std::string &dir);
// Connects to it; an empty Fd when nothing serves it (no socket: a container without -i or
// -t; refused: its supervisor is gone). Throws on other failures.
Fd connect(const std::string &dir);
// Removes the socket (the supervisor's last act). Never throws.
void remove(const std::string &dir);

// Writes all of data to a blocking fd; false when the peer is gone.
bool write_all(int fd, std::string_view data);

} // namespace koker::attach
