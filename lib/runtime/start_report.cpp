// SPDX-License-Identifier: MIT
#include "runtime/start_report.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include <exception>
#include <string>
#include <unistd.h>

namespace koker::start_report {

void send(int fd, int code, std::string_view message) {
  std::string m = cat(static_cast<char>(code), message);
  ssize_t ignored = ::write(fd, m.data(), m.size()); // one write: the reader sees all or none
  (void)ignored;
}

int send_current(int fd) {
  try {
    throw;
  } catch (const Error &e) {
    send(fd, e.exit_code(), e.what());
    return e.exit_code();
  } catch (const std::exception &e) {
    send(fd, 125, cat("internal error: ", e.what()));
  }
  return 125;
}

void send_ready(int fd) { sys::write_fd(fd, std::string_view("\0", 1), "the ready signal"); }

bool wait(int fd) {
  std::string got = sys::read_fd(fd, 64 << 10, "the start report");
  if (got.empty())
    return false;
  if (got[0] == '\0')
    return true;
  throw Error(got.substr(1), static_cast<unsigned char>(got[0]));
}

} // namespace koker::start_report
