// SPDX-License-Identifier: MIT
#include "image/http.hpp"
#include "base/text.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <cerrno>
#include <chrono>
#include <cstring>
#include <curl/curl.h>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <unistd.h>

#ifndef KOKER_VERSION
#define KOKER_VERSION "0.0.0"
#endif

namespace koker::http {
namespace {

struct CurlDeleter {
  void operator()(CURL *c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist *l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU *u) const { curl_url_cleanup(u); }
};

void init_once() {
  static std::once_flag once;
  // curl_global_init is not thread-safe: run it once, before any handle exists.
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      fail("unable to initialise libcurl");
  });
}


bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z')
      x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = static_cast<char>(y - 'A' + 'a');
    if (x != y)
      return false;
  }
  return true;
}


// The state the callbacks share for one transfer. Headers are reset on every status line, so
// what is left at the end belongs to the final response, not to a redirect or a 1xx.
struct Transfer {
  const Request *req = nullptr;
  Response resp;
  long status = 0;
  std::string content_range;
  uint64_t to_skip = 0;   // bytes of this response's body still to drop (range alignment)
  bool aligned = false;   // to_skip has been worked out for this response
  uint64_t delivered = 0; // bytes given to on_data
  bool too_large = false;
  std::exception_ptr error; // thrown by on_data (or the alignment), rethrown after the transfer
  // For the notice of a silent peer: the bytes seen so far, when they last grew, and
  // whether the user was told.
  uint64_t sent = 0; // request body bytes read by curl
  uint64_t reported = 0;
  curl_off_t seen = -1;
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  bool told = false;
  long stall_s = 60;
};

// A peer that accepts the connection but never answers (a black hole) costs the whole stall
// timeout, up to five times with retries: say once what is being waited for, and how long.
int on_progress(void *user, curl_off_t, curl_off_t now_down, curl_off_t, curl_off_t now_up) {
  auto *t = static_cast<Transfer *>(user);
  auto now = std::chrono::steady_clock::now();
  if (t->req->on_sent && static_cast<uint64_t>(now_up) != t->reported) {
    t->reported = static_cast<uint64_t>(now_up);
    try {
      t->req->on_sent(t->reported);
    } catch (...) {
      t->error = std::current_exception();
      return 1;
    }
  }
  if (now_down + now_up != t->seen) {
    t->seen = now_down + now_up;
    t->since = now;
    return 0;
  }
  long silent = static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(now - t->since).count());
  if (!t->told && silent >= std::min(10L, std::max(1L, t->stall_s / 2))) {
    t->told = true;
    log::info("waiting for ", authority_of(t->req->url), ": no data for ", silent, " s (",
              t->req->method, " ", t->req->url, "); giving up after ", t->stall_s,
              " s without data (KOKER_STALL_TIMEOUT, koker-pull --stall-timeout)");
  }
  return 0;
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {
    t->status = 0;
    auto sp = line.find(' ');
    if (sp != std::string_view::npos)
      t->status = static_cast<long>(sys::parse_uint(line.substr(sp + 1, 3)).value_or(0));
    t->resp = Response();
    t->content_range.clear();
    t->aligned = false;
    t->to_skip = 0;
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return len;
  std::string_view name = text::trim(line.substr(0, colon));
  std::string_view value = text::trim(line.substr(colon + 1));
  if (iequals(name, "Content-Type"))
    t->resp.content_type = std::string(text::trim(value.substr(0, value.find(';'))));
  else if (iequals(name, "WWW-Authenticate"))
    // Several challenges may come in several headers; RFC 7230 lets them be joined by commas.
    t->resp.www_authenticate += (t->resp.www_authenticate.empty() ? "" : ", ") + std::string(value);
  else if (iequals(name, "Docker-Content-Digest"))
    t->resp.docker_content_digest = std::string(value);
  else if (iequals(name, "Location"))
    t->resp.location = std::string(value);
  else if (iequals(name, "Retry-After"))
    t->resp.retry_after = std::string(value);
  else if (iequals(name, "Content-Length"))
    t->resp.content_length = sys::parse_uint(value) ? static_cast<int64_t>(*sys::parse_uint(value)) : -1;
  else if (iequals(name, "Content-Range"))
    t->content_range = std::string(value);
  return len;
}

// How many leading bytes of this 2xx body the caller already has. A server may ignore Range
// (200: restart from 0) or honour it from an earlier offset than asked (RFC 9110 14.4).
uint64_t bytes_to_skip(const Transfer &t) {
  uint64_t from = t.req->range_from;
  if (t.status != 206)
    return from;
  if (from == 0)
    return 0;
  std::string_view cr = t.content_range;
  if (cr.substr(0, 6) != "bytes ")
    fail("unable to fetch ", t.req->url, ": malformed Content-Range in a 206 reply");
  cr.remove_prefix(6);
  auto start = sys::parse_uint(cr.substr(0, cr.find('-')));
  if (!start || *start > from)
    fail("unable to fetch ", t.req->url, ": Content-Range ", printable(t.content_range),
         " does not cover byte ", from);
  return from - *start;
}

size_t on_body(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  size_t len = size * n;
  bool ok = t->status >= 200 && t->status < 300;
  if (ok && t->req->on_data) {
    try {
      if (!t->aligned) {
        t->to_skip = bytes_to_skip(*t);
        t->aligned = true;
      }
      size_t skip = static_cast<size_t>(std::min<uint64_t>(t->to_skip, len));
      t->to_skip -= skip;
      if (len > skip) {
        t->req->on_data(data + skip, len - skip);
        t->delivered += len - skip;
      }
    } catch (...) {
      t->error = std::current_exception();
      return 0;
    }
    return len;
  }
  std::string &body = t->resp.body;
  if (body.size() + len > t->req->max_body) {
    if (ok) {
      t->too_large = true;
      return 0;
    }
    body.append(data, t->req->max_body - body.size());
    return len;
  }
  body.append(data, len);
  return len;
}

// The request body, from body_fd (pread: a retried perform starts again at 0) or body_text.
size_t on_read(char *buf, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  const Request &req = *t->req;
  uint64_t total = req.body_fd >= 0 ? req.body_size : req.body_text.size();
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, total - t->sent));
  if (want == 0)
    return 0;
  if (req.body_fd < 0) {
    std::memcpy(buf, req.body_text.data() + t->sent, want);
    t->sent += want;
    return want;
  }
  ssize_t got;
  do
    got = ::pread(req.body_fd, buf, want, static_cast<off_t>(t->sent));
  while (got < 0 && errno == EINTR);
  if (got <= 0) {
    t->error = std::make_exception_ptr(
        Error(cat("unable to read the body of ", req.method, " ", req.url, ": ",
                  got < 0 ? std::strerror(errno) : "file shorter than expected")));
    return CURL_READFUNC_ABORT;
  }
  t->sent += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

// A redirect or an auth round replays the body: curl rewinds it here.
int on_seek(void *user, curl_off_t offset, int origin) {
  auto *t = static_cast<Transfer *>(user);
  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  t->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Errors a retry is unlikely to fix: nobody listens at the address (docker and containerd
// fail at once there too), the request or the server's redirect is wrong, or the peer is not
// who it claims to be.
bool is_permanent(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_OUT_OF_MEMORY:
    return true;
  default:
    return false;
  }
}

template <class T> void set(CURL *c, CURLoption opt, T value) {
  CURLcode rc = curl_easy_setopt(c, opt, value);
  if (rc != CURLE_OK)
    fail("unable to set up an HTTP request: ", curl_easy_strerror(rc));
}

} // namespace

// KOKER_STALL_TIMEOUT (seconds) shortens the stall detection, for tests and slow links alike.
static long stall_timeout() {
  auto v = sys::parse_uint(sys::env("KOKER_STALL_TIMEOUT"));
  return v && *v > 0 && *v < 3600 ? static_cast<long>(*v) : 60;
}

namespace {

// Every option of one transfer: the URL and method, the headers, the safety rules for
// redirects, the timeouts, and the callbacks that fill t.
void configure(CURL *c, const Request &req, Transfer &t, curl_slist *headers,
               const std::string &range, char *errbuf) {
  set(c, CURLOPT_URL, req.url.c_str());
  if (req.method == "HEAD")
    set(c, CURLOPT_NOBODY, 1L);
  else if (req.method != "GET")
    set(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.has_body) {
    // UPLOAD sends Content-Length from INFILESIZE; CUSTOMREQUEST keeps the method.
    set(c, CURLOPT_UPLOAD, 1L);
    set(c, CURLOPT_INFILESIZE_LARGE,
        static_cast<curl_off_t>(req.body_fd >= 0 ? req.body_size : req.body_text.size()));
    set(c, CURLOPT_READFUNCTION, on_read);
    set(c, CURLOPT_READDATA, &t);
    set(c, CURLOPT_SEEKFUNCTION, on_seek);
    set(c, CURLOPT_SEEKDATA, &t);
  } else if (req.method == "POST" || req.method == "PUT") {
    // An empty body, said so: Content-Length 0.
    set(c, CURLOPT_POSTFIELDS, "");
    set(c, CURLOPT_POSTFIELDSIZE, 0L);
  }
  set(c, CURLOPT_HTTPHEADER, headers);
  set(c, CURLOPT_USERAGENT, "koker/" KOKER_VERSION);
  set(c, CURLOPT_NOSIGNAL, 1L); // threads: no SIGALRM for DNS timeouts
  set(c, CURLOPT_ERRORBUFFER, errbuf);
  // Registries answer blob GETs with 307s to storage hosts. Follow http(s) only (no file://,
  // gopher:// ...), and never UNRESTRICTED_AUTH: curl then drops Authorization when the
  // host, port or scheme changes (CVE-2018-1000007, CVE-2022-27776).
  set(c, CURLOPT_FOLLOWLOCATION, 1L);
  set(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
  set(c, CURLOPT_PROTOCOLS_STR, "http,https");
  set(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  set(c, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  set(c, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  set(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  set(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  t.stall_s = req.low_speed_time_s ? req.low_speed_time_s : stall_timeout();
  set(c, CURLOPT_LOW_SPEED_TIME, t.stall_s);
  set(c, CURLOPT_NOPROGRESS, 0L);
  set(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  set(c, CURLOPT_XFERINFODATA, &t);
  // CURLOPT_ACCEPT_ENCODING stays unset: blobs are hashed as stored, never transcoded.
  if (!range.empty())
    set(c, CURLOPT_RANGE, range.c_str());
  set(c, CURLOPT_HEADERFUNCTION, on_header);
  set(c, CURLOPT_HEADERDATA, &t);
  set(c, CURLOPT_WRITEFUNCTION, on_body);
  set(c, CURLOPT_WRITEDATA, &t);
}

// A transfer curl ended with rc: an Error when a retry cannot help, else a TransportError
// carrying how much of the body was delivered.
[[noreturn]] void fail_transfer(CURL *c, const Request &req, const Transfer &t, CURLcode rc,
                                const char *errbuf) {
  // The error buffer says what curl_easy_strerror says, with the details.
  std::string msg =
      cat(req.method, " ", req.url, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (t.status)
    msg += cat(" after HTTP ", t.status);
  log::debug(req.method, " ", req.url, " -> ", curl_easy_strerror(rc));
  curl_off_t connected = 0;
  curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
  if (is_permanent(rc) || (rc == CURLE_OPERATION_TIMEDOUT && connected == 0))
    fail("unable to fetch ", msg.substr(req.method.size() + 1));
  TransportError e(msg);
  e.received = t.delivered;
  throw e;
}

// The reply of a completed transfer: status, final URL, redirects, traced.
Response finish(CURL *c, const Request &req, Transfer &t) {
  Response resp = std::move(t.resp);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char *eff = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    resp.effective_url = eff;
  curl_easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &resp.redirects);
  if (log::debug_on()) {
    // Only the host of a redirect: storage URLs carry signatures in their query.
    std::string to = resp.redirects > 0 ? host_of(resp.effective_url) : std::string();
    if (!to.empty() && to != host_of(req.url))
      log::debug(req.method, " ", req.url, " -> ", resp.status, " (redirected to ", to, ")");
    else
      log::debug(req.method, " ", req.url, " -> ", resp.status);
  }
  return resp;
}

} // namespace

Response perform(const Request &req) {
  init_once();
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle)
    fail("unable to create an HTTP request for ", req.url);
  CURL *c = handle.get();
  Transfer t;
  t.req = &req;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto &h : req.headers) {
    curl_slist *l = curl_slist_append(headers.get(), h.c_str());
    if (!l)
      fail("unable to create an HTTP request for ", req.url, ": out of memory");
    headers.release();
    headers.reset(l);
  }
  if (req.has_body) {
    // A registry answers at once or not at all: 100-continue would cost a round trip (or a
    // second's wait) per blob.
    curl_slist *l = curl_slist_append(headers.get(), "Expect:");
    if (!l)
      fail("unable to create an HTTP request for ", req.url, ": out of memory");
    headers.release();
    headers.reset(l);
  }
  std::string range = req.range_from > 0 ? cat(req.range_from, "-") : std::string();
  configure(c, req, t, headers.get(), range, errbuf);

  CURLcode rc = curl_easy_perform(c);
  if (t.error)
    std::rethrow_exception(t.error);
  if (t.too_large)
    fail("unable to fetch ", req.url, ": response larger than ", req.max_body, " bytes");
  // A 4xx/5xx body is only an explanation: one cut short is no reason to lose the status.
  if (rc != CURLE_OK && t.status >= 400 && !is_permanent(rc)) {
    log::debug(req.method, " ", req.url, " -> ", t.status, " (body cut: ", curl_easy_strerror(rc),
               ")");
    t.resp.status = t.status;
    t.resp.effective_url = req.url;
    return std::move(t.resp);
  }
  if (rc != CURLE_OK)
    fail_transfer(c, req, t, rc, errbuf);
  return finish(c, req, t);
}

namespace {

// url parsed, or nothing.
std::unique_ptr<CURLU, UrlDeleter> parse_url(const std::string &url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return nullptr;
  return u;
}

// One part of a parsed URL, or "".
std::string part_of(CURLU *u, CURLUPart part) {
  char *text = nullptr;
  if (curl_url_get(u, part, &text, 0) != CURLUE_OK)
    return "";
  std::string s = text;
  curl_free(text);
  return s;
}

} // namespace

std::string add_query(const std::string &url,
                      const std::vector<std::pair<std::string, std::string>> &params) {
  auto u = parse_url(url);
  if (!u)
    fail("invalid URL ", printable(url));
  for (const auto &[name, value] : params) {
    std::string item = name + "=" + value;
    if (curl_url_set(u.get(), CURLUPART_QUERY, item.c_str(),
                     CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
      fail("unable to add ", name, " to the URL ", printable(url));
  }
  return part_of(u.get(), CURLUPART_URL);
}

std::string resolve_url(const std::string &base, const std::string &ref) {
  auto u = parse_url(base);
  // With a URL already set, CURLUPART_URL takes a relative reference (RFC 3986 5.2).
  if (!u || curl_url_set(u.get(), CURLUPART_URL, ref.c_str(), 0) != CURLUE_OK)
    fail("invalid URL ", printable(ref), " (relative to ", printable(base), ")");
  return part_of(u.get(), CURLUPART_URL);
}

std::string host_of(const std::string &url) {
  auto u = parse_url(url);
  return u ? text::lower(part_of(u.get(), CURLUPART_HOST)) : "";
}

std::string authority_of(const std::string &url) {
  auto u = parse_url(url);
  if (!u)
    return "";
  std::string port = part_of(u.get(), CURLUPART_PORT); // only when the URL names one
  return text::lower(part_of(u.get(), CURLUPART_HOST)) + (port.empty() ? "" : ":" + port);
}

} // namespace koker::http
