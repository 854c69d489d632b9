// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Small string helpers the parsers share: ASCII character classes (never locale-dependent),
// hex, and cutting text into fields.
namespace koker::text {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_lower_alnum(char c) { return is_lower(c) || is_digit(c); }
inline bool is_alnum(char c) { return is_lower_alnum(c) || is_upper(c); }
// 0-9 and a-f: how digests and IDs are written.
inline bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
inline bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }
// True when s is not empty and every character passes is_class.
template <class Class> bool all(std::string_view s, Class is_class) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_class(c))
      return false;
  return true;
}

// True for lower-case hex digits, at least one (an ID or a prefix of one).
inline bool all_lower_hex(std::string_view s) { return all(s, is_lower_hex); }

// The bytes of data as lower-case hex, two digits each.
inline std::string hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * data.size());
  for (unsigned char c : data) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// ASCII lower case (host names, header names: never locale-dependent).
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters.
inline bool is_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || !is_alnum(name[0]))
    return false;
  return all(name, [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// A host name a container may get: 1 to 64 printable characters, none of them blank or '/'
// (a newline would add a line to the container's /etc/hosts).
inline bool is_hostname(std::string_view name) {
  return name.size() <= 64 && all(name, [](char c) {
           return c > ' ' && c != 0x7f && c != '/';
         });
}

// s cut at every sep, empty fields kept: "a::b" gives "a", "", "b" (passwd lines, addresses).
inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (size_t i = 0;;) {
    size_t j = s.find(sep, i);
    out.emplace_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos)
      return out;
    i = j + 1;
  }
}

// The non-empty fields of s between seps: the words of a line, the lines of a file, the
// components of a path.
inline std::vector<std::string> fields(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (auto &f : split(s, sep))
    if (!f.empty())
      out.push_back(std::move(f));
  return out;
}

// FNV-1a (64 bits, offset basis xor seed) of data, as 16 hex digits: a cache key or a stable
// name, never a check of content (digest:: is for those).
inline std::string fnv1a_hex(std::string_view data, uint64_t seed = 0) {
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (unsigned char c : data)
    h = (h ^ c) * 1099511628211ULL;
  static const char digits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    hex[static_cast<size_t>(i)] = digits[h & 15];
  return hex;
}

// The parts with sep between them: join({"a", "b"}, "/") gives "a/b".
inline std::string join(const std::vector<std::string> &parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i)
      out += sep;
    out += parts[i];
  }
  return out;
}

// s without leading and trailing blanks (space, tab, CR, LF).
inline std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

} // namespace koker::text
