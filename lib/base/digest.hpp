// SPDX-License-Identifier: MIT
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace koker::digest {

// A streaming SHA-256 (OpenSSL EVP), for hashing blobs while they arrive.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256 &&) noexcept;
  Sha256 &operator=(Sha256 &&) noexcept;
  void update(const void *data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<64 hex>"; the hasher cannot be used afterwards.
  std::string finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// "sha256:<64 hex>" of data.
std::string sha256(std::string_view data);
// True for exactly "sha256:" and 64 lower-case hex digits (CVE-2024-3727: check before a
// digest becomes a path or a URL).
bool is_valid(std::string_view digest);
// The 64 hex digits of a valid digest; throws Error for an invalid one.
std::string hex_of(std::string_view digest);

} // namespace koker::digest
