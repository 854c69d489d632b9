// SPDX-License-Identifier: MIT
#include "image/registry.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "image/docker_config.hpp"
#include "image/http.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "image/registry_auth.hpp"
#include "base/sys.hpp"
#include <arpa/inet.h>
#include <algorithm>
#include <chrono>
#include <mutex>
#include <openssl/evp.h>
#include <optional>
#include <thread>

namespace koker::registry {
namespace {

constexpr std::string_view DOCKER_HUB = "docker.io";
constexpr size_t MAX_NAME = 255; // distribution's NameTotalLengthMax
constexpr size_t MAX_TAG = 128;
// containerd's MaxManifestSize (4 * 1048 * 1048, sic).
constexpr size_t MAX_MANIFEST = 4 * 1048 * 1048;
constexpr size_t MAX_TOKEN_REPLY = 1 << 20;
constexpr size_t MAX_ERROR_BODY = 64 << 10;
constexpr size_t MAX_CONFIG_JSON = 1 << 20;
constexpr int MAX_ATTEMPTS = 5;
constexpr double MAX_RETRY_AFTER_S = 10;

constexpr const char *MANIFEST_TYPES[] = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
};

using text::lower;
using text::starts_with;


// "sha256:" and 12 hex digits, for messages.
std::string short_digest(std::string_view d) {
  return d.size() > 19 ? cat(d.substr(0, 19), "\u2026") : std::string(d);
}

} // namespace


namespace auth {
namespace {

bool is_tchar(char c) {
  return text::is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

std::string Challenge::param(std::string_view name) const {
  for (const auto &[k, v] : params)
    if (k == name)
      return v;
  return "";
}

std::vector<Challenge> parse_challenges(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0, n = h.size();
  auto skip_ws = [&] {
    while (i < n && (h[i] == ' ' || h[i] == '\t'))
      ++i;
  };
  while (i < n) {
    while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == ','))
      ++i;
    size_t start = i;
    while (i < n && is_tchar(h[i]))
      ++i;
    if (i == start) { // not a token: skip the stray character
      ++i;
      continue;
    }
    std::string token = lower(h.substr(start, i - start));
    skip_ws();
    if (i < n && h[i] == '=') {
      ++i;
      skip_ws();
      std::string value;
      if (i < n && h[i] == '"') {
        for (++i; i < n && h[i] != '"'; ++i) {
          if (h[i] == '\\' && i + 1 < n)
            ++i;
          value.push_back(h[i]);
        }
        ++i; // the closing quote, if any
      } else {
        size_t vstart = i;
        while (i < n && is_tchar(h[i]))
          ++i;
        value = std::string(h.substr(vstart, i - vstart));
      }
      if (!out.empty())
        out.back().params.emplace_back(std::move(token), std::move(value));
    } else {
      out.push_back(Challenge{std::move(token), {}});
    }
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string in(text);
  while (in.size() % 4)
    in.push_back('='); // docker itself writes padding, but be lenient with hand-written files
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size())
        return std::nullopt;
      ++pad;
    } else if (pad || !(text::is_alnum(c) || c == '+' || c == '/')) {
      return std::nullopt;
    }
  }
  if (pad > 2)
    return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                            reinterpret_cast<const unsigned char *>(in.data()),
                            static_cast<int>(in.size()));
  if (len < 0 || static_cast<size_t>(len) < pad)
    return std::nullopt;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

std::string encode_base64(std::string_view data) {
  std::string out((data.size() + 2) / 3 * 4 + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                            reinterpret_cast<const unsigned char *>(data.data()),
                            static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(std::max(len, 0)));
  return out;
}

namespace {

// "https://Index.Docker.io/v1/" -> "index.docker.io"; "host:5000" stays.
std::string auth_key_host(std::string_view key) {
  if (starts_with(key, "https://"))
    key.remove_prefix(8);
  else if (starts_with(key, "http://"))
    key.remove_prefix(7);
  return lower(key.substr(0, key.find('/')));
}

} // namespace

bool key_matches(std::string_view key, std::string_view host) {
  std::string k = auth_key_host(key);
  if (host == DOCKER_HUB)
    return k == "docker.io" || k == "index.docker.io" || k == "registry-1.docker.io";
  return k == lower(host);
}

std::optional<Credentials> find_credentials(std::string_view config, std::string_view host,
                                            std::string_view what) {
  json::Value doc = json::parse(config, what);
  if (doc.find("credsStore") || doc.find("credHelpers"))
    log::debug("ignoring credsStore/credHelpers in ", what, ": koker runs no credential helpers");
  const json::Value *auths = doc.find("auths");
  if (!auths || !auths->is_object())
    return std::nullopt;
  for (const auto &[key, entry] : auths->members()) {
    if (!key_matches(key, host) || !entry.is_object())
      continue;
    Credentials c;
    std::string encoded = entry.get_string("auth");
    if (!encoded.empty()) {
      auto plain = decode_base64(encoded);
      size_t colon = plain ? plain->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        log::warn("ignoring a malformed auth entry for ", printable(key), " in ", what);
        continue;
      }
      c.user = plain->substr(0, colon);
      c.password = plain->substr(colon + 1);
    } else {
      c.user = entry.get_string("username");
      c.password = entry.get_string("password");
    }
    if (c.user.empty() && c.password.empty()) {
      if (entry.find("identitytoken"))
        log::debug("ignoring the identity token for ", printable(key), " in ", what);
      continue;
    }
    return c;
  }
  return std::nullopt;
}

} // namespace auth

namespace {

// Plain HTTP is only for loopback hosts and the ones the user listed: docker's
// --insecure-registry, minus its CIDR forms.
bool is_insecure(std::string_view registry) {
  std::string host = http::host_of(cat("http://", registry));
  struct in_addr v4;
  if (host == "localhost" || host == "[::1]" ||
      (::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127))
    return true;
  std::string want = lower(registry);
  for (const auto &item : text::split(sys::env("KOKER_INSECURE_REGISTRIES"), ','))
    if (lower(text::trim(item)) == want && !text::trim(item).empty())
      return true;
  return false;
}

// " (CODE: message)" from a registry's error body ({"errors":[{"code":..,"message":..}]}).
std::string registry_message(const http::Response &r) {
  try {
    json::Value doc = json::parse(r.body, "error reply", 4096);
    const json::Value *errors = doc.find("errors");
    if (!errors || !errors->is_array() || errors->items().empty())
      return "";
    const json::Value &e = errors->items().front();
    std::string code = e.get_string("code"), message = e.get_string("message");
    if (code.empty() && message.empty())
      return "";
    return cat(" (", printable(code, 40), code.empty() || message.empty() ? "" : ": ",
               printable(message, 200), ")");
  } catch (const Error &) {
    return "";
  }
}

double backoff_s(int attempt) { return std::min(0.2 * (1 << (attempt - 1)), 5.0); }

} // namespace

struct Session::Impl {
  Reference ref;
  std::string base;      // scheme://host[:port][/prefix], no trailing '/'
  std::string cred_host; // whose entry in config.json applies
  bool plain_http = false;

  std::mutex mu; // guards everything below
  std::string auth_header;
  bool auth_with_creds = false; // auth_header was obtained with the user's credentials
  bool creds_loaded = false;
  std::optional<auth::Credentials> creds;

  // What the session does, for messages ("unable to push WHAT") and token scopes.
  std::string verb = "pull";
  std::string subject; // what messages name: the repository, or the registry for a login
  bool push = false;
  std::vector<std::string> mount_from; // repositories the token must let us pull from

  struct Options {
    std::string what; // the object of "unable to pull WHAT: ..."
    bool with_auth = true;
    std::function<void(http::Request &)> before;
    std::function<bool()> complete;
    bool retry = true; // false: 5xx and transport errors go to the caller at once
  };

  std::string url(std::string_view kind, std::string_view id) const {
    return cat(base, "/v2/", ref.repository, "/", kind, "/", id);
  }
  std::string unable() const { return cat("unable to ", verb, " "); }
  std::string start_upload(const std::string &what);
  std::optional<auth::Credentials> credentials();
  std::string fetch_token(const auth::Challenge &ch, bool &with_creds);
  bool renew_auth(const std::string &sent, const http::Response &r);
  [[noreturn]] void denied(const http::Response &r);
  http::Response send(http::Request req, const Options &opt);
};

// Called with mu held. Loaded on the first challenge only: public pulls never read the file.
std::optional<auth::Credentials> Session::Impl::credentials() {
  if (creds_loaded)
    return creds;
  creds_loaded = true;
  if (sys::env("DOCKER_CONFIG").empty() && sys::env("HOME").empty())
    return std::nullopt; // no file to read: a public pull, not an error
  std::string path = docker_config::path();
  try {
    if (auto text = sys::read_file_if_exists(path, MAX_CONFIG_JSON))
      creds = auth::find_credentials(*text, cred_host, path);
  } catch (const Error &e) {
    log::warn("ignoring ", path, ": ", e.what());
  }
  log::debug(creds ? "using the credentials for " : "no credentials for ", cred_host, " in ", path);
  return creds;
}

// Called with mu held, which keeps concurrent layer fetches from each fetching a token.
// Docker's token auth: GET realm?service=S&scope=repository:NAME:pull.
std::string Session::Impl::fetch_token(const auth::Challenge &ch, bool &with_creds) {
  std::string realm = ch.param("realm");
  if (!starts_with(realm, "https://") && !starts_with(realm, "http://"))
    fail(unable(), subject, ": unusable token realm \"", printable(realm), "\"");
  // A push asks for one token that pushes to the target and pulls from each mount source
  // (distribution's token spec: one scope parameter each); a login check asks for none.
  std::string actions = push ? "pull,push" : "pull";
  std::vector<std::pair<std::string, std::string>> query;
  if (std::string service = ch.param("service"); !service.empty())
    query.emplace_back("service", service);
  std::string mine = cat("repository:", ref.repository, ":");
  if (!ref.repository.empty())
    query.emplace_back("scope", mine + actions);
  for (const auto &from : mount_from)
    query.emplace_back("scope", cat("repository:", from, ":pull"));
  if (std::string extra = ch.param("scope"); !extra.empty() && !starts_with(extra, mine))
    query.emplace_back("scope", extra);
  std::string url = http::add_query(realm, query);

  http::Request req;
  req.url = url;
  req.max_body = MAX_TOKEN_REPLY;
  auto c = credentials();
  // Credentials only travel encrypted, unless the registry itself is plain HTTP (loopback or
  // listed as insecure by the user).
  with_creds = c && (starts_with(realm, "https://") || plain_http);
  if (c && !with_creds)
    log::warn("not sending the credentials for ", cred_host, " to plain-HTTP ",
              http::authority_of(realm));
  if (with_creds)
    req.headers.push_back("Authorization: Basic " +
                          auth::encode_base64(c->user + ":" + c->password));
  log::debug("requesting a ", actions, " token for ",
             ref.repository.empty() ? "/v2/" : ref.repository, " from ", http::authority_of(realm),
             with_creds ? " with credentials" : " anonymously");
  http::Response r = send(req, Options{subject, false, nullptr, nullptr, true});
  if (r.status == 401 || r.status == 403)
    fail(unable(), subject, with_creds ? ": access denied" : ": authentication required");
  if (r.status != 200)
    fail(unable(), subject, ": token server answered HTTP ", r.status);
  json::Value doc;
  try {
    doc = json::parse(r.body, "the token server's reply");
  } catch (const Error &e) {
    fail(unable(), subject, ": ", e.what());
  }
  std::string token = doc.get_string("token");
  if (token.empty())
    token = doc.get_string("access_token");
  if (token.empty())
    fail(unable(), subject, ": no token in the token server's reply");
  // The token becomes a header line: no spaces, controls or non-ASCII.
  for (char t : token)
    if (static_cast<unsigned char>(t) <= 0x20 || static_cast<unsigned char>(t) >= 0x7f)
      fail(unable(), subject, ": malformed token in the token server's reply");
  return token;
}

[[noreturn]] void Session::Impl::denied(const http::Response &r) {
  bool used;
  {
    std::lock_guard<std::mutex> lock(mu);
    used = auth_with_creds;
  }
  fail(unable(), subject, used ? ": access denied" : ": authentication required",
       registry_message(r));
}

// Answers a 401. Returns true when it obtained a new authorization, false when another thread
// already had one since sent was read (the caller just retries with it).
bool Session::Impl::renew_auth(const std::string &sent, const http::Response &r) {
  std::lock_guard<std::mutex> lock(mu);
  if (auth_header != sent)
    return false;
  auto challenges = auth::parse_challenges(r.www_authenticate);
  const auth::Challenge *bearer = nullptr, *basic = nullptr;
  for (const auto &ch : challenges) {
    if (ch.scheme == "bearer" && !bearer)
      bearer = &ch;
    else if (ch.scheme == "basic" && !basic)
      basic = &ch;
  }
  if (bearer) {
    bool with_creds = false;
    std::string token = fetch_token(*bearer, with_creds);
    auth_header = "Authorization: Bearer " + token;
    auth_with_creds = with_creds;
    return true;
  }
  if (basic) {
    auto c = credentials();
    if (!c)
      fail(unable(), subject, ": authentication required", registry_message(r));
    auth_header = "Authorization: Basic " + auth::encode_base64(c->user + ":" + c->password);
    auth_with_creds = true;
    return true;
  }
  fail(unable(), subject, ": authentication required",
       challenges.empty() ? std::string(" (no usable challenge)")
                          : cat(" (unsupported scheme ", printable(challenges[0].scheme, 20), ")"));
}

// Sends req, answering 401 challenges (with_auth) and retrying 429, 5xx, transport errors and
// 2xx bodies that complete() finds short. Returns the first other reply.
http::Response Session::Impl::send(http::Request req, const Options &opt) {
  size_t own_headers = req.headers.size();
  bool fresh = false; // the authorization sent was obtained during this call
  int renewals = 0;
  for (int attempt = 1;;) {
    std::string sent;
    if (opt.with_auth) {
      std::lock_guard<std::mutex> lock(mu);
      sent = auth_header;
    }
    req.headers.resize(own_headers);
    if (!sent.empty())
      req.headers.push_back(sent);
    if (opt.before)
      opt.before(req);
    std::string reason;
    double wait = backoff_s(attempt);
    try {
      http::Response r = http::perform(req);
      if (r.status == 401 && opt.with_auth) {
        // A token obtained just now and refused means no access; an older one may have expired.
        if (fresh || ++renewals > 3)
          denied(r);
        fresh = renew_auth(sent, r);
        continue;
      }
      if ((r.status == 429 || r.status >= 500) && opt.retry) {
        reason = cat("HTTP ", r.status);
        if (attempt == MAX_ATTEMPTS)
          fail(unable(), opt.what, ": HTTP ", r.status, " from ", req.url, registry_message(r));
        if (auto s = sys::parse_uint(r.retry_after))
          wait = std::min(static_cast<double>(*s), MAX_RETRY_AFTER_S);
      } else if (r.status / 100 == 2 && opt.complete && !opt.complete()) {
        reason = "a short body";
        if (attempt == MAX_ATTEMPTS)
          fail(unable(), opt.what, ": size mismatch (the body ended early ", MAX_ATTEMPTS,
               " times)");
      } else {
        return r;
      }
    } catch (const http::TransportError &e) {
      if (!opt.retry)
        throw;
      // Every byte the descriptor promised came before the error (a Content-Length larger than
      // the blob): the digest check decides, a resume would only ask past the end.
      if (opt.complete && opt.complete()) {
        log::debug("ignoring an error after the whole body: ", e.what());
        http::Response whole;
        whole.status = 200;
        return whole;
      }
      reason = e.what();
      if (attempt == MAX_ATTEMPTS)
        fail(unable(), opt.what, ": ", e.what());
    }
    ++attempt;
    log::info("retrying after ", reason, " (attempt ", attempt, "/", MAX_ATTEMPTS, ")");
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

Session::Session(const Reference &ref, Access access) : m_impl(std::make_unique<Impl>()) {
  Impl &m = *m_impl;
  m.ref = ref;
  m.subject = ref.name();
  m.push = access.push;
  m.mount_from = std::move(access.mount_from);
  if (m.push)
    m.verb = "push";
  if (ref.registry == DOCKER_HUB) {
    std::string mirror = sys::env("KOKER_REGISTRY_MIRROR");
    while (!mirror.empty() && mirror.back() == '/')
      mirror.pop_back();
    if (mirror.empty()) {
      m.base = "https://registry-1.docker.io";
      m.cred_host = DOCKER_HUB;
    } else {
      if (!starts_with(mirror, "http://") && !starts_with(mirror, "https://"))
        fail("invalid KOKER_REGISTRY_MIRROR \"", printable(mirror), "\": not an http(s) URL");
      m.base = mirror;
      m.cred_host = http::authority_of(mirror); // Docker Hub's credentials stay with Docker Hub
    }
  } else {
    m.base = (is_insecure(ref.registry) ? "http://" : "https://") + ref.registry;
    m.cred_host = ref.registry;
  }
  m.plain_http = starts_with(m.base, "http://");
  log::debug("registry ", ref.registry, " at ", m.base);
}

Session::~Session() = default;

Fetched Session::get_manifest(std::string_view id) {
  Impl &m = *m_impl;
  bool by_digest = id.find(':') != std::string_view::npos;
  if (by_digest ? !digest::is_valid(id) : !valid_tag(id))
    fail("unable to pull ", m.ref.name(), ": invalid ", by_digest ? "digest" : "tag", " \"",
         printable(id), "\"");
  std::string what = cat(m.ref.name(), by_digest ? "@" : ":", id);
  http::Request req;
  req.url = m.url("manifests", id);
  std::string accept = "Accept: ";
  for (const char *t : MANIFEST_TYPES)
    accept += cat(accept.size() > 8 ? ", " : "", t);
  req.headers.push_back(accept);
  req.max_body = MAX_MANIFEST;
  http::Response r = m.send(req, Impl::Options{what, true, nullptr, nullptr});
  if (r.status == 404)
    fail("unable to pull ", what, ": manifest unknown");
  if (r.status == 403)
    fail("unable to pull ", what, ": access denied", registry_message(r));
  if (r.status != 200)
    fail("unable to pull ", what, ": HTTP ", r.status, " from ", req.url, registry_message(r));

  const std::string &type = r.content_type;
  if (std::find(std::begin(MANIFEST_TYPES), std::end(MANIFEST_TYPES), type) ==
      std::end(MANIFEST_TYPES)) {
    if (starts_with(type, "application/vnd.docker.distribution.manifest.v1"))
      fail("unable to pull ", what, ": unsupported manifest type ", type,
           " (Docker schema 1; push the image again with a newer client)");
    fail("unable to pull ", what, ": unsupported manifest type \"", printable(type), "\"");
  }
  // CVE-2021-41190: the document must not be readable as another type than the one declared.
  json::Value doc;
  try {
    doc = json::parse(r.body, "manifest");
  } catch (const Error &e) {
    fail("unable to pull ", what, ": ", e.what());
  }
  if (!doc.is_object())
    fail("unable to pull ", what, ": the manifest is not a JSON object");
  if (const json::Value *mt = doc.find("mediaType")) {
    if (!mt->is_string() || mt->as_string() != type)
      fail("unable to pull ", what, ": manifest mediaType \"",
           printable(mt->is_string() ? mt->as_string() : mt->dump()),
           "\" differs from its Content-Type ", type);
  }
  Fetched f{std::move(r.body), type, ""};
  f.digest = digest::sha256(f.body);
  if (by_digest && f.digest != id)
    fail("unable to pull ", what, ": digest mismatch (got ", f.digest, ")");
  return f;
}

void Session::get_blob(const std::string &dg, uint64_t size, const Sink &sink) {
  Impl &m = *m_impl;
  if (!digest::is_valid(dg))
    fail("unable to pull ", m.ref.name(), ": invalid digest \"", printable(dg), "\"");
  std::string what = cat("blob ", short_digest(dg));
  digest::Sha256 hash;
  uint64_t done = 0;
  http::Request req;
  req.url = m.url("blobs", dg);
  req.max_body = MAX_ERROR_BODY; // only error replies are collected
  req.on_data = [&](const char *p, size_t n) {
    if (n > size - done)
      fail("unable to pull ", what, ": size mismatch (more than ", size, " bytes)");
    hash.update(p, n);
    sink(p, n);
    done += n;
  };
  Impl::Options opt{what, true, nullptr, nullptr};
  opt.before = [&](http::Request &r) {
    if (done > 0)
      log::info("resuming ", short_digest(dg), " at byte ", done);
    r.range_from = done;
  };
  opt.complete = [&] { return done == size; };
  http::Response r = m.send(req, opt);
  if (r.status == 416 && done > 0) // nothing left past what we have: the blob is shorter
    fail("unable to pull ", what, ": size mismatch (", done, " of ", size, " bytes)");
  if (r.status == 404)
    fail("unable to pull ", what, ": blob unknown");
  if (r.status == 403)
    fail("unable to pull ", what, ": access denied", registry_message(r));
  if (r.status / 100 != 2)
    fail("unable to pull ", what, ": HTTP ", r.status, " from ", req.url, registry_message(r));
  if (done != size)
    fail("unable to pull ", what, ": size mismatch (", done, " of ", size, " bytes)");
  if (hash.finish() != dg)
    fail("unable to pull ", what, ": digest mismatch");
}

std::string Session::get_small_blob(const std::string &dg, uint64_t size, size_t max) {
  if (size > max)
    fail("unable to pull blob ", short_digest(dg), ": ", size, " bytes is over the limit of ", max);
  std::string out;
  out.reserve(static_cast<size_t>(size));
  get_blob(dg, size, [&](const char *p, size_t n) { out.append(p, n); });
  return out;
}

// ---- push (distribution spec, "Pushing blobs", as skopeo does it against registry 2.8)

bool Session::has_blob(const std::string &dg) {
  Impl &m = *m_impl;
  http::Request req;
  req.method = "HEAD";
  req.url = m.url("blobs", dg);
  http::Response r =
      m.send(req, Impl::Options{cat("blob ", short_digest(dg)), true, nullptr, nullptr, true});
  if (r.status == 200)
    return true;
  if (r.status == 404)
    return false;
  if (r.status == 403)
    m.denied(r);
  fail("unable to push blob ", short_digest(dg), ": HTTP ", r.status, " from ", req.url);
}

namespace {

// An upload URL from a Location header, relative to the request's URL.
std::string upload_url(const std::string &base_url, const http::Response &r,
                       const std::string &what) {
  if (r.location.empty())
    fail("unable to push ", what, ": no Location in the registry's HTTP ", r.status, " reply");
  return http::resolve_url(base_url, r.location);
}

} // namespace

std::string Session::Impl::start_upload(const std::string &what) {
  http::Request req;
  req.method = "POST";
  req.url = cat(base, "/v2/", ref.repository, "/blobs/uploads/");
  http::Response r = send(req, Options{what, true, nullptr, nullptr, true});
  if (r.status == 403)
    denied(r);
  if (r.status != 202)
    fail("unable to push ", what, ": HTTP ", r.status, " from POST ", req.url, registry_message(r));
  return upload_url(req.url, r, what);
}

Mount Session::mount_blob(const std::string &dg, const std::string &from) {
  Impl &m = *m_impl;
  std::string what = cat("blob ", short_digest(dg));
  http::Request req;
  req.method = "POST";
  req.url = http::add_query(cat(m.base, "/v2/", m.ref.repository, "/blobs/uploads/"),
                            {{"mount", dg}, {"from", from}});
  http::Response r = m.send(req, Impl::Options{what, true, nullptr, nullptr, true});
  if (r.status == 201)
    return Mount{true, ""};
  if (r.status == 202) // the registry cannot mount it (no such blob there): upload instead
    return Mount{false, upload_url(req.url, r, what)};
  if (r.status == 403)
    m.denied(r);
  fail("unable to push ", what, ": HTTP ", r.status, " from POST ", req.url, registry_message(r));
}

void Session::put_blob(const std::string &dg, int fd, uint64_t size, std::string location,
                       const std::function<void(uint64_t)> &sent) {
  Impl &m = *m_impl;
  std::string what = cat("blob ", short_digest(dg));
  for (int attempt = 1;; ++attempt) {
    if (location.empty())
      location = m.start_upload(what);
    http::Request req;
    req.method = "PUT";
    req.url = http::add_query(location, {{"digest", dg}});
    req.headers.push_back("Content-Type: application/octet-stream");
    req.body_fd = fd;
    req.body_size = size;
    req.has_body = true;
    req.on_sent = sent;
    // The upload URL is the registry's; credentials go nowhere else.
    bool same_host = http::authority_of(req.url) == http::authority_of(m.base);
    std::string reason;
    try {
      http::Response r = m.send(req, Impl::Options{what, same_host, nullptr, nullptr, false});
      if (r.status == 201 || r.status == 204)
        return;
      if (r.status == 403)
        m.denied(r);
      if (r.status != 429 && r.status < 500)
        fail("unable to push ", what, ": HTTP ", r.status, " from PUT ", location,
             registry_message(r));
      reason = cat("HTTP ", r.status);
      if (attempt == MAX_ATTEMPTS)
        fail("unable to push ", what, ": HTTP ", r.status, " from PUT ", location,
             registry_message(r));
    } catch (const http::TransportError &e) {
      if (attempt == MAX_ATTEMPTS)
        fail("unable to push ", what, ": ", e.what());
      std::string_view msg = e.what();
      reason = std::string(msg.substr(msg.rfind(": ") + 2)); // without the long upload URL
    }
    // The upload session may be gone with the connection: start a new one (registry 2.8
    // keeps no offset a client could resume from, and a stale _state URL is a 404).
    location.clear();
    log::info("retrying ", dg.substr(7, 12), " after ", reason, " (attempt ", attempt + 1, "/",
              MAX_ATTEMPTS, ")");
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff_s(attempt)));
  }
}

std::string Session::put_manifest(const std::string &tag, const std::string &body,
                                  const std::string &media_type) {
  Impl &m = *m_impl;
  std::string what = cat(m.ref.name(), ":", tag);
  http::Request req;
  req.method = "PUT";
  req.url = m.url("manifests", tag);
  req.headers.push_back("Content-Type: " + media_type);
  req.body_text = body;
  req.has_body = true;
  http::Response r = m.send(req, Impl::Options{what, true, nullptr, nullptr, true});
  if (r.status == 403)
    m.denied(r);
  if (r.status != 201 && r.status != 200)
    fail("unable to push ", what, ": HTTP ", r.status, " from PUT ", req.url, registry_message(r));
  std::string dg = digest::sha256(body);
  if (!r.docker_content_digest.empty() && r.docker_content_digest != dg)
    fail("unable to push ", what, ": the registry stored the manifest as ",
         printable(r.docker_content_digest, 80), ", not ", dg);
  return dg;
}

// ---- login

void Session::check_credentials(const std::string &user, const std::string &password) {
  Impl &m = *m_impl;
  m.verb = "log in to";
  m.subject = m.ref.registry;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.creds = auth::Credentials{user, password};
    m.creds_loaded = true;
  }
  http::Request req;
  req.url = m.base + "/v2/";
  // A 401 answered with the credentials and refused again ends in denied(): "access denied".
  http::Response r = m.send(req, Impl::Options{m.ref.registry, true, nullptr, nullptr, true});
  if (r.status == 200)
    return;
  if (r.status == 401 || r.status == 403)
    m.denied(r);
  fail("unable to log in to ", m.ref.registry, ": HTTP ", r.status, " from ", req.url,
       registry_message(r));
}

} // namespace koker::registry
