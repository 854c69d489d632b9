// SPDX-License-Identifier: MIT
// Checking digests as names needs no hashing: kept apart from digest.cpp so that tools which
// only handle names (koker-run, koker-ps, ...) do not link libcrypto.
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace koker::digest {

bool is_valid(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix)
    return false;
  return text::all(digest.substr(prefix.size()), text::is_lower_hex);
}

std::string hex_of(std::string_view digest) {
  if (!is_valid(digest))
    fail("invalid digest ", printable(digest));
  return std::string(digest.substr(7));
}

} // namespace koker::digest
