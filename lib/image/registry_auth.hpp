// SPDX-License-Identifier: MIT
#pragma once
// Internal to registry.cpp, exposed for the unit tests: the pure parts of registry auth.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace koker::registry::auth {

// One challenge of a WWW-Authenticate header (RFC 7235): the scheme in lower case and its
// parameters, names in lower case, quoted values unescaped.
struct Challenge {
  std::string scheme;
  std::vector<std::pair<std::string, std::string>> params;
  // The value of parameter name, or "" when absent.
  std::string param(std::string_view name) const;
};

// Parses every challenge in a WWW-Authenticate value ('Bearer realm="x",service="y", Basic
// realm="z"'); commas inside quoted strings stay in the value. Never throws: what cannot be
// parsed is skipped.
std::vector<Challenge> parse_challenges(std::string_view header);

// Standard (padded) base64; nothing for malformed input.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view data);

struct Credentials {
  std::string user;
  std::string password;
};

// The credentials for host in a docker config.json ("auths": keys "host[:port]" or
// "https://host[:port]/..."; Docker Hub, host "docker.io", also under index.docker.io and
// registry-1.docker.io). "auth" is base64(user:password). Helpers (credsStore, credHelpers)
// are never run. Throws Error on malformed JSON; what names the file in messages.
std::optional<Credentials> find_credentials(std::string_view config, std::string_view host,
                                            std::string_view what);

// True when an "auths" key of a docker config.json ("host:port", "https://host/v1/") is for
// host; Docker Hub's keys ("https://index.docker.io/v1/", ...) are for "docker.io".
bool key_matches(std::string_view key, std::string_view host);

} // namespace koker::registry::auth
