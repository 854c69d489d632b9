// SPDX-License-Identifier: MIT
// Checking digests as names needs no hashing: kept apart from digest.cpp so that tools which
// only handle names (koker-run, koker-ps, ...) do not link libcrypto.
#include "digest.hpp"
#include "error.hpp"

namespace koker::digest {

bool is_valid(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : digest.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string hex_of(std::string_view digest) {
  if (!is_valid(digest))
    fail("invalid digest ", printable(digest));
  return std::string(digest.substr(7));
}

} // namespace koker::digest
