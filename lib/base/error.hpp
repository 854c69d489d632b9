// SPDX-License-Identifier: MIT
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace koker {

// koker's one exception type: a message ("unable to VERB OBJECT: reason"), the exit code the
// tool should return (125 unless said otherwise) and the errno that caused it, if any. An
// empty message means the failure was already reported on stderr, by a tool this one ran
// (koker-net attach): run_tool then prints nothing more.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &msg, int exit_code = 125, int sys_errno = 0)
      : std::runtime_error(msg), m_exit_code(exit_code), m_errno(sys_errno) {}
  int exit_code() const { return m_exit_code; }
  int sys_errno() const { return m_errno; }

private:
  int m_exit_code;
  int m_errno;
};

namespace detail {
inline void append(std::string &s, std::string_view v) { s.append(v); }
inline void append(std::string &s, const char *v) { s.append(v ? v : "(null)"); }
inline void append(std::string &s, const std::string &v) { s.append(v); }
inline void append(std::string &s, char c) { s.push_back(c); }
template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
void append(std::string &s, T v) {
  s.append(std::to_string(v));
}
} // namespace detail

// Joins strings and numbers without printf formats (strerr style).
template <class... A> std::string cat(const A &...parts) {
  std::string s;
  (detail::append(s, parts), ...);
  return s;
}

// Throws Error(cat(parts...)).
template <class... A> [[noreturn]] void fail(const A &...parts) { throw Error(cat(parts...)); }

// Throws Error(cat(parts...) + ": " + strerror(errno)) and records errno.
template <class... A> [[noreturn]] void sys_fail(const A &...parts) {
  int e = errno;
  throw Error(cat(parts..., ": ", std::strerror(e)), 125, e);
}

// Returns rc, or throws like sys_fail when rc < 0.
template <class T, class... A> T check(T rc, const A &...parts) {
  if (rc < 0)
    sys_fail(parts...);
  return rc;
}

// Untrusted text made safe to print in one line: control bytes become '?', and anything past
// max characters is cut and marked with "...".
inline std::string printable(std::string_view text, size_t max = 100) {
  std::string s;
  for (char c : text.substr(0, max))
    s.push_back((static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c);
  if (text.size() > max)
    s += "...";
  return s;
}

} // namespace koker
