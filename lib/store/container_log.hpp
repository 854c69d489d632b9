// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// A detached container's output: containers/<id>/container.log, and with a size limit
// (--log-opt max-size, max-file, as docker's json-file driver) the rotated files
// container.log.1 (the newest) to container.log.N-1 beside it.
namespace koker::container_log {

struct Limits {
  uint64_t max_size = 0; // bytes; 0: no limit (the container writes the file itself)
  unsigned max_files = 1;
};

// The log files of the container in dir, oldest first, those that exist.
std::vector<std::string> files(const std::string &dir);

// The writer the supervisor feeds when the log has a size limit: appends, and once a write
// would take the file past max_size, ends the line under way, then shifts container.log to
// .1, .1 to .2, ... dropping what would be the max_files-th (with max_files 1 the file starts
// again), so every file holds whole lines.
class Writer {
public:
  Writer(std::string dir, Limits limits);
  // Never throws: a log that cannot be written (a full disk) loses output, not the container.
  void write(std::string_view data);

private:
  void rotate();
  // Writes all of data to the current file; false when it cannot.
  bool append(std::string_view data);
  std::string m_path;
  Limits m_limits;
  Fd m_fd;
  uint64_t m_size = 0;
  bool m_line_start = true; // the last byte written ended a line
};

// Copies the container's log to stdout: from the start of its oldest file (koker-logs), or from
// the current end (koker-attach); with follow, on as the container writes it, until it is no
// longer running and all it wrote is out (koker-logs -f, koker-attach).
void print(const std::string &root, const std::string &id, bool from_end, bool follow);

} // namespace koker::container_log
