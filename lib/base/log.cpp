// SPDX-License-Identifier: MIT
#include "base/log.hpp"
#include <string>
#include <unistd.h>

namespace koker {
namespace {
std::string g_prog = "koker";
log::Level g_level = log::Level::normal;

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return; // nowhere left to report it
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
}
} // namespace

void log::set_prog(std::string_view prog) { g_prog = prog; }
const char *log::prog() { return g_prog.c_str(); }
void log::set_level(Level level) { g_level = level; }
log::Level log::level() { return g_level; }

void log::write_line(std::string_view level, std::string_view text) {
  std::string s = cat(g_prog, ": ", level, ": ", text, '\n');
  write_all(2, s);
}

void out::line(std::string_view text) { write_all(1, cat(text, '\n')); }
void out::text(std::string_view text) { write_all(1, text); }
void out::progress_line(std::string_view text) { write_all(2, cat(text, '\n')); }

} // namespace koker
