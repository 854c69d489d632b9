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

} // namespace koker::text
