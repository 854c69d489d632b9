// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/user.hpp"
#include <optional>
#include <string>
#include <vector>

// The user a container runs as: -u (or the image's USER) and --group-add looked up in the
// image's own /etc/passwd and /etc/group (docker's rules: runtime/user.hpp), and kept in the
// store's cache/, so that a start of an image looked up before reads one small file instead
// of mounting the image's root to read two.
namespace koker::image_user {

// Looks spec and group_add up in the files of the mounted root root_fd (each resolved inside
// it, symlinks included).
user::Identity look_up(int root_fd, const std::string &spec,
                       const std::vector<std::string> &group_add);

// What an earlier look-up of the same spec and groups in the image image_id gave, from
// cache_dir/user-<image hex>-<key>; nothing when there is none, or it is malformed (a warning).
// An image's files never change: its ID is the digest of a config that names its layers.
std::optional<user::Identity> cached(const std::string &cache_dir, const std::string &image_id,
                                     const std::string &spec,
                                     const std::vector<std::string> &group_add);
// Keeps id for cached (written whole, by rename). The store's garbage collection removes the
// entries of an image once it is gone (store::Store::collect_garbage).
void remember(const std::string &cache_dir, const std::string &image_id, const std::string &spec,
              const std::vector<std::string> &group_add, const user::Identity &id);

// The cache file's text, and back: "UID GID GROUP,GROUP...\nHOME\n" ("-" for no groups).
std::string encode(const user::Identity &id);
std::optional<user::Identity> decode(const std::string &text);

// The name prefix of an image's entries in cache/: "user-<image hex>-".
std::string entry_prefix(const std::string &image_hex);

} // namespace koker::image_user
