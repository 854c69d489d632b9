// SPDX-License-Identifier: MIT
#pragma once
#include "image/reference.hpp"
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace koker::registry {

// A manifest or index as fetched: its bytes, the media type the registry declared, and the
// sha256 of the bytes.
struct Fetched {
  std::string body;
  std::string media_type;
  std::string digest;
};

using Sink = std::function<void(const char *, size_t)>;

// What a session is for. A push asks the token server for pull,push on its repository and
// pull on each repository it mounts blobs from, in one token; messages say "unable to push".
struct Access {
  bool push = false;
  std::vector<std::string> mount_from; // repositories of the same registry
};

// The outcome of a cross-repository mount: mounted (201), or the upload the registry
// started instead (202, its Location).
struct Mount {
  bool mounted = false;
  std::string location;
};

// A conversation with one repository of one registry. Docker Hub references go to
// KOKER_REGISTRY_MIRROR when set, else https://registry-1.docker.io. Plain HTTP only for
// localhost, 127.0.0.0/8, ::1 and the hosts in KOKER_INSECURE_REGISTRIES. Credentials come from
// $DOCKER_CONFIG/config.json or ~/.docker/config.json ("auths"). A 401 with a Bearer challenge
// fetches a token (anonymously, or with those credentials) and retries; Basic challenges use
// the credentials. 429 and 5xx are retried with backoff (Retry-After honoured, bounded).
// Safe to use from several threads at once (the token is shared under a lock).
class Session {
public:
  explicit Session(const Reference &ref, Access access = {});
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

  // Push (Access::push). HEAD: true when the repository has the blob.
  bool has_blob(const std::string &digest);
  // POST ?mount=DIGEST&from=REPO.
  Mount mount_blob(const std::string &digest, const std::string &from);
  // Uploads the blob in fd (size bytes): POST (202, Location) unless location is given, then
  // one PUT <newest Location>&digest= of the whole blob as application/octet-stream (what
  // docker-registry 2.8 stores; it ignores PATCH ranges). A dropped connection or a 5xx
  // starts over with a fresh POST, at most 5 times. sent sees the bytes sent of this try.
  void put_blob(const std::string &digest, int fd, uint64_t size, std::string location,
                const std::function<void(uint64_t)> &sent);
  // PUTs a manifest under tag with Content-Type media_type; returns its digest (the one the
  // registry reports, which must be the sha256 of body).
  std::string put_manifest(const std::string &tag, const std::string &body,
                           const std::string &media_type);

  // Login: GET /v2/ with these credentials, answering a Bearer challenge at the token server
  // (no scope) or a Basic one. Error "unable to log in to REGISTRY: ..." when they are refused.
  void check_credentials(const std::string &user, const std::string &password);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace koker::registry
