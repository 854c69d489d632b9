// SPDX-License-Identifier: MIT
#include "image/docker_config.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/registry_auth.hpp"
#include <climits>
#include <cstdlib>
#include <sys/stat.h>

namespace koker::docker_config {
namespace {

constexpr size_t MAX_CONFIG_JSON = 1 << 20;
constexpr std::string_view HUB_KEY = "https://index.docker.io/v1/";

// The document at path ({} when there is none); the path written is the symlink's target,
// as docker writes through a linked config.json.
json::Value load(std::string &path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real))
    path = real;
  auto text = sys::read_file_if_exists(path, MAX_CONFIG_JSON);
  if (!text || text::trim(*text).empty())
    return json::Value::object();
  json::Value doc = json::parse(*text, path);
  if (!doc.is_object())
    fail("invalid ", path, ": not a JSON object");
  return doc;
}

// doc's "auths" without the entries for registry; removed counts them.
json::Value auths_without(const json::Value &doc, std::string_view registry, size_t &removed) {
  json::Value out = json::Value::object();
  removed = 0;
  const json::Value *auths = doc.find("auths");
  if (auths && !auths->is_object())
    fail("invalid docker config: \"auths\" is not an object");
  if (auths)
    for (const auto &[key, entry] : auths->members()) {
      if (registry::auth::key_matches(key, registry))
        ++removed;
      else
        out.set(key, entry);
    }
  return out;
}

void save(const std::string &path, const json::Value &doc) {
  std::string dir = sys::dirname(path);
  if (!sys::exists(dir)) {
    log::debug("mkdir -m 0700 ", dir);
    sys::mkdir_p(dir, 0700);
  }
  log::debug("write ", path, " (mode 0600, through a temporary file and rename)");
  sys::write_file_atomic(path, doc.dump(1) + "\n", 0600);
  // Exactly 0600, whatever the umask: the file holds passwords.
  check(::chmod(path.c_str(), 0600), "unable to chmod ", path);
}

} // namespace

std::string path() {
  std::string dir = sys::env("DOCKER_CONFIG");
  if (!dir.empty())
    return dir + "/config.json";
  std::string home = sys::env("HOME");
  if (home.empty())
    fail("unable to find docker's config.json: neither DOCKER_CONFIG nor HOME is set");
  return home + "/.docker/config.json";
}

std::string registry_of(std::string_view text) {
  std::string_view t = text;
  if (text::starts_with(t, "https://"))
    t.remove_prefix(8);
  else if (text::starts_with(t, "http://"))
    t.remove_prefix(7);
  t = t.substr(0, t.find('/'));
  std::string host = text::lower(t);
  bool ok = !host.empty() && host.size() <= 255;
  for (char c : host)
    ok = ok && (text::is_alnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']');
  if (!ok)
    fail("invalid registry \"", printable(text), "\"");
  if (host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io")
    return "docker.io";
  return host;
}

std::string auth_key(std::string_view registry) {
  return registry == "docker.io" ? std::string(HUB_KEY) : std::string(registry);
}

void save_auth(const std::string &path_in, std::string_view registry, std::string_view user,
               std::string_view password) {
  std::string path = path_in;
  json::Value doc = load(path);
  size_t removed = 0;
  json::Value auths = auths_without(doc, registry, removed);
  json::Value entry = json::Value::object();
  entry.set("auth", registry::auth::encode_base64(cat(user, ":", password)));
  auths.set(auth_key(registry), entry);
  doc.set("auths", auths);
  save(path, doc);
}

size_t remove_auth(const std::string &path_in, std::string_view registry) {
  std::string path = path_in;
  json::Value doc = load(path);
  size_t removed = 0;
  json::Value auths = auths_without(doc, registry, removed);
  if (removed == 0)
    return 0;
  doc.set("auths", auths);
  save(path, doc);
  return removed;
}

} // namespace koker::docker_config
