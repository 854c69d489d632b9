// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>

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

} // namespace koker::text
