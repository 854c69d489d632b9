// SPDX-License-Identifier: MIT
#include "runtime/image_user.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/mounts.hpp"
#include "store/store.hpp"
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>

namespace koker::image_user {
namespace {

// cache_dir/user-<image hex>-<16 hex of the spec and groups>: the key names the inputs whole
// (a NUL between them: no spec and group list can run into another's).
std::string entry_path(const std::string &cache_dir, const std::string &image_id,
                       const std::string &spec, const std::vector<std::string> &group_add) {
  std::string inputs = cat("spec", '\0', spec);
  for (const auto &g : group_add)
    inputs += cat('\0', "group", '\0', g);
  return cat(cache_dir, '/', entry_prefix(digest::hex_of(image_id)), text::fnv1a_hex(inputs));
}

// A decimal id that fits an id_t, the whole of text.
std::optional<unsigned> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  unsigned long v = std::strtoul(std::string(text).c_str(), nullptr, 10);
  if (v > UINT_MAX - 1) // (uid_t)-1 is no id
    return std::nullopt;
  return static_cast<unsigned>(v);
}

} // namespace

user::Identity look_up(int root_fd, const std::string &spec,
                       const std::vector<std::string> &group_add) {
  // Opened inside the root: a FIFO or a huge file must not hang or swamp koker, a symlink
  // not leave the root.
  auto read = [root_fd](const char *path) -> std::string {
    Fd fd = mounts::open_in_root_if_exists(root_fd, path, mounts::Follow::in_root,
                                           O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
      return "";
    return sys::read_fd(fd.get(), 4 << 20, cat("the container's ", path));
  };
  std::string groups = read("/etc/group");
  user::Identity id = user::resolve(spec, read("/etc/passwd"), groups);
  for (const auto &g : group_add) { // --group-add, as docker: names from the image's file
    gid_t gid = user::find_group(g, groups);
    if (std::find(id.groups.begin(), id.groups.end(), gid) == id.groups.end())
      id.groups.push_back(gid);
  }
  return id;
}

std::string entry_prefix(const std::string &image_hex) {
  return cat(store::USER_CACHE_PREFIX, image_hex, '-');
}

std::string encode(const user::Identity &id) {
  std::string groups;
  for (gid_t g : id.groups)
    groups += cat(groups.empty() ? "" : ",", g);
  return cat(id.uid, ' ', id.gid, ' ', groups.empty() ? "-" : groups, '\n', id.home, '\n');
}

std::optional<user::Identity> decode(const std::string &text) {
  // Two lines, each ending in '\n'; the home is the rest of the second (spaces and all).
  size_t nl = text.find('\n');
  if (nl == std::string::npos || text.empty() || text.back() != '\n' ||
      text.find('\n', nl + 1) != text.size() - 1)
    return std::nullopt;
  auto fields = text::split(std::string_view(text).substr(0, nl), ' ');
  if (fields.size() != 3)
    return std::nullopt;
  auto uid = parse_id(fields[0]), gid = parse_id(fields[1]);
  if (!uid || !gid)
    return std::nullopt;
  user::Identity id;
  id.uid = *uid;
  id.gid = *gid;
  if (fields[2] != "-")
    for (const auto &g : text::split(fields[2], ',')) {
      auto v = parse_id(g);
      if (!v)
        return std::nullopt;
      id.groups.push_back(*v);
    }
  id.home = text.substr(nl + 1, text.size() - nl - 2);
  if (id.home.empty())
    return std::nullopt;
  return id;
}

std::optional<user::Identity> cached(const std::string &cache_dir, const std::string &image_id,
                                     const std::string &spec,
                                     const std::vector<std::string> &group_add) {
  std::string path = entry_path(cache_dir, image_id, spec, group_add);
  auto text = sys::read_file_if_exists(path, 64 << 10);
  if (!text)
    return std::nullopt;
  if (auto id = decode(*text)) {
    log::debug("user ", printable(spec.empty() ? "(the image's default)" : spec), ": uid ", id->uid,
               " gid ", id->gid, ", as ", path, " remembers from the image's /etc/passwd and /etc/group");
    return id;
  }
  log::warn("ignoring a malformed user cache file ", path);
  return std::nullopt;
}

void remember(const std::string &cache_dir, const std::string &image_id, const std::string &spec,
              const std::vector<std::string> &group_add, const user::Identity &id) {
  std::string path = entry_path(cache_dir, image_id, spec, group_add);
  log::debug("write ", path, " (the user, for the next container of the image)");
  try {
    sys::mkdir_p(cache_dir, 0700);
    // Not durable: a cache file lost in a crash is looked up again.
    sys::write_file_atomic(path, encode(id), 0600, false);
  } catch (const Error &e) {
    log::debug("the user is not cached: ", e.what()); // a full disk costs a look-up, no more
  }
}

} // namespace koker::image_user
