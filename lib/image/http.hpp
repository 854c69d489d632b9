// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace koker::http {

// One HTTP exchange over libcurl. Redirects are followed for http and https only, and curl
// drops Authorization when the host changes (never CURLOPT_UNRESTRICTED_AUTH).
struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  // When > 0, sends "Range: bytes=N-", and on_data sees the body from byte N on whatever the
  // reply: a 200 (range ignored) has its first N bytes dropped, a 206 is aligned by its
  // Content-Range (one starting past N is an Error).
  uint64_t range_from = 0;
  // Body bytes of a 2xx reply go here as they arrive (an exception it throws aborts the
  // transfer and comes out of perform as it is); when unset, or for any other status, the body
  // is collected in Response::body, capped at max_body bytes (past it: Error for a 2xx,
  // silently cut otherwise).
  std::function<void(const char *, size_t)> on_data;
  size_t max_body = 4 << 20;
  // A request body (push): body_fd's first body_size bytes, read with pread from offset 0 on
  // every perform, else body_text; sent with Content-Length, never "Expect: 100-continue".
  int body_fd = -1;
  uint64_t body_size = 0;
  std::string body_text;
  bool has_body = false;
  // Called as the request body goes out, with the bytes sent so far.
  std::function<void(uint64_t)> on_sent;
  long connect_timeout_s = 30;
  // Abort when under 1 byte/s for this long (a stalled transfer); 0 means KOKER_STALL_TIMEOUT
  // seconds when set, else 60.
  long low_speed_time_s = 0;
};

struct Response {
  long status = 0;
  std::string body;
  std::string content_type;     // without parameters
  std::string www_authenticate; // the WWW-Authenticate header, if any
  std::string docker_content_digest;
  std::string retry_after;
  std::string location; // the Location header, as sent
  int64_t content_length = -1;
  std::string effective_url; // after redirects
  long redirects = 0;
};

// Performs req. Failures once connected (reset, stall, short body) throw http::TransportError;
// those a retry is unlikely to fix (DNS, refused or timed-out connection, bad URL, a redirect
// to another protocol, too many redirects, TLS verification) throw Error. Any HTTP status is
// returned, not thrown; a 4xx/5xx whose body is cut short is still returned.
// Logs "METHOD URL -> STATUS" at debug level (never a header value).
Response perform(const Request &req);

// URLs through libcurl's URL API (RFC 3986), never by hand:
// url with each name=value appended to its query, both percent-encoded.
std::string add_query(const std::string &url,
                      const std::vector<std::pair<std::string, std::string>> &params);
// ref (a Location header: absolute, or relative to base) as an absolute URL.
std::string resolve_url(const std::string &base, const std::string &ref);
// The host of url in lower case ("[::1]" for IPv6), or "" when url does not parse.
std::string host_of(const std::string &url);
// The host[:port] of url in lower case, or "" when url does not parse.
std::string authority_of(const std::string &url);

// A failure below HTTP: worth a retry (connection dropped or stalled).
struct TransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
  uint64_t received = 0; // body bytes delivered before the failure
};

} // namespace koker::http
