// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>
#include <vector>

// Small string helpers the parsers share.
namespace koker::text {

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
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 128 || !alnum(name[0]))
    return false;
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
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
