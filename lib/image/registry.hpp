// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include "image/reference.hpp"

namespace koker::registry {

// A manifest or index as fetched: its bytes, the media type the registry declared, and the
// sha256 of the bytes.
struct Fetched {
  std::string body;
  std::string media_type;
  std::string digest;
};

using Sink = std::function<void(const char *, size_t)>;

// A conversation with one repository of one registry. Docker Hub references go to
// KOKER_REGISTRY_MIRROR when set, else https://registry-1.docker.io. Plain HTTP only for
// localhost, 127.0.0.0/8, ::1 and the hosts in KOKER_INSECURE_REGISTRIES. Credentials come from
// $DOCKER_CONFIG/config.json or ~/.docker/config.json ("auths"). A 401 with a Bearer challenge
// fetches a token (anonymously, or with those credentials) and retries; Basic challenges use
// the credentials. 429 and 5xx are retried with backoff (Retry-After honoured, bounded).
// Safe to use from several threads at once (the token is shared under a lock).
class Session {
public:
  explicit Session(const Reference &ref);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // GETs a manifest or index by tag or digest, accepting the OCI and Docker v2 schema 2 types
  // (manifest, index, manifest list); refuses any other Content-Type (schema 1 included), a
  // body over 4 MiB, a body whose own "mediaType" differs from the Content-Type
  // (CVE-2021-41190), and, when fetched by digest, a body whose sha256 differs.
  Fetched get_manifest(std::string_view tag_or_digest);

  // GETs a blob and streams it to sink while hashing it; aborts as soon as more than size
  // bytes arrive; resumes a dropped or stalled connection with a Range request (a 200 reply to
  // it restarts, and the bytes sink already has are skipped, so sink sees each byte once, in
  // order); throws Error on a size or digest mismatch, after which the caller must discard
  // whatever sink produced. The digest must be valid (digest::is_valid) before the call.
  void get_blob(const std::string &digest, uint64_t size, const Sink &sink);

  // Like get_blob, but collects at most max bytes (configs).
  std::string get_small_blob(const std::string &digest, uint64_t size, size_t max);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace koker::registry
