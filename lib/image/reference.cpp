// SPDX-License-Identifier: MIT
#include "image/reference.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include <algorithm>

// Image references by the distribution spec's grammar and docker's normalisation. Kept apart
// from the registry client so that tools which only name images never link libcurl.
namespace koker::registry {
namespace {

constexpr std::string_view DOCKER_HUB = "docker.io";
constexpr size_t MAX_NAME = 255; // distribution's NameTotalLengthMax
constexpr size_t MAX_TAG = 128;

using text::lower;
using text::starts_with;

using text::is_alnum;
using text::is_digit;
using text::is_hex;
using text::is_lower_alnum;

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
// (distribution reference/regexp.go).
bool valid_path_component(std::string_view s) {
  size_t i = 0, n = s.size();
  if (n == 0 || !is_lower_alnum(s[0]))
    return false;
  while (true) {
    while (i < n && is_lower_alnum(s[i]))
      ++i;
    if (i == n)
      return true;
    size_t j = i + 1;
    if (s[i] == '_' && j < n && s[j] == '_')
      ++j;
    else if (s[i] == '-')
      while (j < n && s[j] == '-')
        ++j;
    else if (s[i] != '.' && s[i] != '_')
      return false;
    if (j == n || !is_lower_alnum(s[j]))
      return false;
    i = j;
  }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// domain := (domain-component ('.' domain-component)* | '[' [0-9A-Fa-f:]+ ']') [':' [0-9]+]
bool valid_domain(std::string_view d) {
  std::string_view host = d, port;
  if (starts_with(d, "[")) {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 2)
      return false;
    host = d.substr(0, close + 1);
    if (!std::all_of(host.begin() + 1, host.end() - 1,
                     [](char c) { return is_hex(c) || c == ':'; }))
      return false;
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':')
        return false;
      port = rest.substr(1);
      if (port.empty())
        return false;
    }
  } else {
    size_t colon = d.find(':');
    if (colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      if (port.empty())
        return false;
    }
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      if (!valid_domain_component(host.substr(start, dot - start)))
        return false;
      if (dot == std::string_view::npos)
        break;
      start = dot + 1;
    }
  }
  return port.size() <= 5 && std::all_of(port.begin(), port.end(), is_digit);
}

// tag := [\w][\w.-]{0,127}

[[noreturn]] void bad_reference(std::string_view text, std::string_view why) {
  fail("invalid reference format: ", why, ": \"", printable(text), "\"");
}

} // namespace

bool valid_tag(std::string_view t) {
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (t.empty() || t.size() > MAX_TAG || !word(t[0]))
    return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

Reference parse_reference(std::string_view text) {
  std::string_view s = text;
  if (starts_with(s, "docker://"))
    s.remove_prefix(9);
  if (s.empty())
    bad_reference(text, "empty reference");
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      bad_reference(text, "forbidden character");

  Reference ref;
  size_t at = s.find('@');
  if (at != std::string_view::npos) {
    ref.digest = std::string(s.substr(at + 1));
    s = s.substr(0, at);
    // Only sha256, lower-case hex: the digest becomes a URL (CVE-2024-3727).
    if (!digest::is_valid(ref.digest))
      bad_reference(text, "invalid digest (need sha256: and 64 lower-case hex digits)");
  }
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(s.substr(colon + 1));
    s = s.substr(0, colon);
    if (!valid_tag(ref.tag))
      bad_reference(text, "invalid tag (need [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
  }
  if (s.empty())
    bad_reference(text, "missing repository name");

  // docker's splitDockerDomain: the first component names a registry only if it looks like a
  // host, so "user/img" is on Docker Hub.
  std::string_view path = s;
  size_t first = s.find('/');
  ref.registry = DOCKER_HUB;
  if (first != std::string_view::npos) {
    std::string_view head = s.substr(0, first);
    if (head.find_first_of(".:") != std::string_view::npos || head == "localhost") {
      ref.registry = std::string(head);
      path = s.substr(first + 1);
      if (!valid_domain(head))
        bad_reference(text, "invalid registry host");
    }
  }
  if (ref.registry == "index.docker.io")
    ref.registry = DOCKER_HUB;
  // docker refuses a bare 64-hex name: it would read as an image ID.
  if (ref.registry == DOCKER_HUB && first == std::string_view::npos && path.size() == 64 &&
      text::all_lower_hex(path))
    bad_reference(text, "cannot specify 64-byte hexadecimal strings");
  if (path.empty())
    bad_reference(text, "missing repository name");
  if (lower(path) != path)
    bad_reference(text, "repository name must be lowercase");
  for (const auto &component : text::split(path, '/'))
    if (!valid_path_component(component))
      bad_reference(text, "invalid repository name");
  ref.repository = std::string(path);
  if (ref.registry == DOCKER_HUB && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.registry.size() + 1 + ref.repository.size() > MAX_NAME)
    bad_reference(text, "name longer than 255 characters");
  if (ref.tag.empty() && ref.digest.empty())
    ref.tag = "latest";
  return ref;
}

std::string Reference::name() const {
  if (registry != DOCKER_HUB)
    return registry + "/" + repository;
  std::string_view rest = repository;
  if (starts_with(rest, "library/") && rest.find('/', 8) == std::string_view::npos)
    rest.remove_prefix(8);
  return std::string(rest);
}

std::string Reference::tagged() const { return tag.empty() ? std::string() : name() + ":" + tag; }

std::string Reference::canonical() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty())
    s += ":" + tag;
  if (!digest.empty())
    s += "@" + digest;
  return s;
}

std::string reference_key(std::string_view query) {
  try {
    Reference r = parse_reference(query);
    return r.digest.empty() ? r.tagged() : cat(r.name(), "@", r.digest);
  } catch (const Error &) {
    return "";
  }
}


} // namespace koker::registry
