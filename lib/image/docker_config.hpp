// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

// The "auths" of docker's config.json, as `docker login` and `docker logout` write them:
// {"auths": {"KEY": {"auth": base64("user:password")}}}, every other key kept.
namespace koker::docker_config {

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json; Error when neither is set.
std::string path();
// The registry a login names: "host[:port]" in lower case, from "host[:port]" or
// "http(s)://host[:port][/path]"; Docker Hub's names (docker.io, index.docker.io,
// registry-1.docker.io) give "docker.io". Error for anything else.
std::string registry_of(std::string_view text);
// docker's auths key for a registry: "https://index.docker.io/v1/" for "docker.io", else
// the registry itself.
std::string auth_key(std::string_view registry);
// Sets the entry of registry to {"auth": base64(user:password)}, removing any other entry
// for it; writes path atomically (temp file and rename, mode 0600), creating its directory
// (0700). Error on a malformed file, which is left as it is.
void save_auth(const std::string &path, std::string_view registry, std::string_view user,
               std::string_view password);
// Removes every entry for registry; returns how many there were (0: the file is untouched).
size_t remove_auth(const std::string &path, std::string_view registry);

} // namespace koker::docker_config
