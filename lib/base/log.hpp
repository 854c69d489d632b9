// SPDX-License-Identifier: MIT
#pragma once
#include "base/error.hpp"
#include <string_view>

namespace koker::log {

enum class Level { quiet, normal, debug };

// The program name used as the prefix of every message ("koker-pull").
void set_prog(std::string_view prog);
const char *prog();
void set_level(Level level);
Level level();
inline bool debug_on() { return level() == Level::debug; }
inline bool info_on() { return level() != Level::quiet; }

// Writes "PROG: LEVEL: text\n" to stderr in one write(2), so lines from threads never mix.
void write_line(std::string_view level, std::string_view text);

// Each builds its message only when the level is on (like ccache's LOG).
template <class... A> void debug(const A &...parts) {
  if (debug_on())
    write_line("debug", cat(parts...));
}
template <class... A> void info(const A &...parts) {
  if (info_on())
    write_line("info", cat(parts...));
}
template <class... A> void warn(const A &...parts) {
  if (info_on())
    write_line("warning", cat(parts...));
}
// Always printed, even with --quiet.
template <class... A> void fatal(const A &...parts) { write_line("fatal", cat(parts...)); }

} // namespace koker::log

namespace koker::out {
// Writes one line of data to stdout (unbuffered, in one write(2)).
void line(std::string_view text);
// Writes text as it is to stdout.
void text(std::string_view text);
// Writes one line to stderr as it is, no "PROG: level:" before it (koker-build's steps).
void progress_line(std::string_view text);
} // namespace koker::out
