// SPDX-License-Identifier: MIT
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include <openssl/evp.h>

namespace koker::digest {

struct Sha256::Impl {
  EVP_MD_CTX *ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  if (!m_impl->ctx || EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1)
    fail("unable to initialise SHA-256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;

void Sha256::update(const void *data, size_t size) {
  if (EVP_DigestUpdate(m_impl->ctx, data, size) != 1)
    fail("unable to compute SHA-256");
}

std::string Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx, md, &len) != 1)
    fail("unable to compute SHA-256");
  return "sha256:" + text::hex(std::string_view(reinterpret_cast<const char *>(md), len));
}

std::string sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

} // namespace koker::digest
