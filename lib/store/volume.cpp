// SPDX-License-Identifier: MIT
#include "store/volume.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::volume {

namespace {

std::string volumes_dir(const std::string &root) { return root + "/volumes"; }

std::string dir_of(const std::string &root, std::string_view name) {
  check_name(name);
  return cat(volumes_dir(root), "/", name);
}

// The lock every change takes. volumes/ is made here, 0700 as the store (CVE-2021-41091:
// a volume's content may hold an image's setuid binaries).
sys::FileLock lock_volumes(const std::string &root) {
  std::string dir = volumes_dir(root);
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
    sys_fail("unable to create ", dir);
  sys::mkdir_p(root + "/locks", 0700);
  return sys::FileLock(root + "/locks/volumes.lock", sys::FileLock::Mode::exclusive);
}

// Wipes what a killed tool left half made or half removed (under the lock: nobody is
// making or removing one now).
void wipe_leftovers(const std::string &root) {
  for (const auto &entry : sys::list_dir(volumes_dir(root)))
    if (entry[0] == '.') {
      log::debug("rm -rf ", volumes_dir(root), "/", entry, " (left by a killed tool)");
      sys::rm_rf(cat(volumes_dir(root), "/", entry));
    }
}

std::optional<Volume> read(const std::string &root, std::string_view name) {
  std::string path = dir_of(root, name) + "/volume.json";
  auto text = sys::read_file_if_exists(path, 1 << 20);
  if (!text)
    return std::nullopt;
  json::Value doc = json::parse(*text, path);
  json::Fields f(&doc, path);
  Volume v;
  v.name = f.string("Name");
  v.created_at = f.string("CreatedAt");
  if (const json::Value *labels = f.find("Labels"); labels && labels->is_object())
    for (const auto &[key, value] : labels->members())
      v.labels.emplace_back(key, value.is_string() ? value.as_string() : "");
  if (v.name != name)
    fail("invalid volume record ", path, ": it names ", printable(v.name));
  return v;
}

json::Value labels_json(const Labels &labels) {
  json::Value l = json::Value::object();
  for (const auto &[key, value] : labels)
    l.set(key, value);
  return l;
}

Volume make(const std::string &root, std::string_view name, const Labels &labels) {
  // docker's CreatedAt has whole seconds
  std::string now = sys::now_rfc3339();
  if (size_t dot = now.find('.'); dot != std::string::npos)
    now.erase(dot, now.size() - 1 - dot);
  Volume v{std::string(name), now, labels};
  std::string tmp = cat(volumes_dir(root), "/.new-", sys::random_hex(8));
  log::debug("mkdir ", tmp, "/{_data,users}, write volume.json (volume ", name, ")");
  check(::mkdir(tmp.c_str(), 0700), "unable to create ", tmp);
  sys::Rollback undo;
  undo.add("rm -rf " + tmp, [tmp] { sys::rm_rf(tmp); });
  check(::mkdir((tmp + "/_data").c_str(), 0755), "unable to create ", tmp, "/_data");
  check(::mkdir((tmp + "/users").c_str(), 0700), "unable to create ", tmp, "/users");
  json::Value doc = json::Value::object();
  doc.set("Name", v.name);
  doc.set("CreatedAt", v.created_at);
  doc.set("Labels", labels_json(labels));
  sys::write_file_atomic(tmp + "/volume.json", doc.dump(1), 0600);
  std::string dir = dir_of(root, name);
  log::debug("rename ", tmp, " ", dir);
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) < 0)
    sys_fail("unable to create volume ", name);
  undo.dismiss();
  sys::fsync_dir(volumes_dir(root));
  return v;
}

// Removes what dir holds after renaming it out of the way, so that a kill -9 halfway leaves
// no volume half there.
void erase(const std::string &root, std::string_view name) {
  std::string dir = dir_of(root, name), gone = cat(volumes_dir(root), "/.rm-", sys::random_hex(8));
  log::debug("rename ", dir, " ", gone, "; rm -rf ", gone);
  check(::rename(dir.c_str(), gone.c_str()), "unable to remove volume ", name);
  sys::rm_rf(gone);
}

std::vector<std::string> live_users(const std::string &root, std::string_view name) {
  std::string dir = dir_of(root, name) + "/users";
  std::vector<std::string> ids;
  if (!sys::exists(dir))
    return ids;
  for (const auto &id : sys::list_dir(dir))
    if (container::valid_id(id) && store::holds_container(root, id))
      ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint64_t g_bytes; // nftw's callback takes no context
int add_size(const char *, const struct stat *st, int type, struct FTW *) {
  if (type == FTW_F)
    g_bytes += static_cast<uint64_t>(st->st_blocks) * 512;
  return 0;
}

uint64_t disk_usage(const std::string &dir) {
  g_bytes = 0;
  ::nftw(dir.c_str(), add_size, 32, FTW_PHYS | FTW_MOUNT);
  return g_bytes;
}

} // namespace

bool Volume::anonymous() const {
  return std::any_of(labels.begin(), labels.end(),
                     [](const auto &l) { return l.first == ANONYMOUS_LABEL; });
}

bool valid_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 255)
    return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0]))
    return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

void check_name(std::string_view name) {
  if (!valid_name(name))
    fail(printable(name), " includes invalid characters for a local volume name, only "
                          "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (two characters at least); if "
                          "you intended to pass a host directory, use an absolute path");
}

std::string data_path(const std::string &root, std::string_view name) {
  return dir_of(root, name) + "/_data";
}

std::optional<Volume> find(const std::string &root, std::string_view name) {
  if (!valid_name(name))
    return std::nullopt;
  return read(root, name);
}

std::vector<Volume> list(const std::string &root) {
  std::vector<Volume> out;
  if (!sys::exists(volumes_dir(root)))
    return out;
  std::vector<std::string> names = sys::list_dir(volumes_dir(root));
  std::sort(names.begin(), names.end());
  for (const auto &name : names) {
    if (!valid_name(name))
      continue;
    try {
      if (auto v = read(root, name))
        out.push_back(*v);
    } catch (const Error &e) {
      log::warn("skipping volume ", name, ": ", e.what());
    }
  }
  return out;
}

std::vector<std::string> users(const std::string &root, std::string_view name) {
  return live_users(root, name);
}

std::pair<Volume, bool> create(const std::string &root, std::string_view name,
                               const Labels &labels) {
  check_name(name);
  sys::FileLock lock = lock_volumes(root);
  wipe_leftovers(root);
  if (auto v = read(root, name))
    return {*v, false};
  return {make(root, name, labels), true};
}

bool claim(const std::string &root, std::string_view name, std::string_view id,
           const Labels &labels) {
  check_name(name);
  sys::FileLock lock = lock_volumes(root);
  bool made = false;
  if (!read(root, name)) {
    wipe_leftovers(root);
    make(root, name, labels);
    made = true;
  }
  std::string user = cat(dir_of(root, name), "/users/", id);
  log::debug("create ", user, " (container ", id.substr(0, 12), " uses volume ", name, ")");
  Fd fd(::open(user.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd)
    sys_fail("unable to create ", user);
  return made;
}

void release(const std::string &root, std::string_view name, std::string_view id) {
  sys::FileLock lock = lock_volumes(root);
  std::string user = cat(dir_of(root, name), "/users/", id);
  log::debug("rm ", user);
  if (::unlink(user.c_str()) < 0 && errno != ENOENT)
    sys_fail("unable to remove ", user);
}

void remove(const std::string &root, std::string_view name) {
  if (!valid_name(name))
    fail("no such volume: ", printable(name));
  sys::FileLock lock = lock_volumes(root);
  if (!read(root, name))
    fail("no such volume: ", printable(name));
  auto ids = live_users(root, name);
  if (!ids.empty()) {
    std::string list;
    for (const auto &id : ids)
      list += (list.empty() ? "" : " ") + id;
    fail("unable to remove volume ", name, ": volume is in use - [", list, "]");
  }
  erase(root, name);
}

sys::FileLock lock_content(const std::string &root, std::string_view name) {
  return sys::FileLock(dir_of(root, name) + "/content.lock", sys::FileLock::Mode::exclusive);
}

Pruned prune_unused(const std::string &root, bool all) {
  Pruned p;
  sys::FileLock lock = lock_volumes(root);
  wipe_leftovers(root);
  for (const auto &v : list(root)) {
    if ((!all && !v.anonymous()) || !live_users(root, v.name).empty())
      continue;
    p.bytes += disk_usage(data_path(root, v.name));
    erase(root, v.name);
    p.names.push_back(v.name);
  }
  return p;
}

json::Value to_json(const std::string &root, const Volume &v) {
  json::Value j = json::Value::object();
  j.set("CreatedAt", v.created_at);
  j.set("Driver", "local");
  j.set("Labels", labels_json(v.labels));
  j.set("Mountpoint", data_path(root, v.name));
  j.set("Name", v.name);
  j.set("Options", json::Value::object());
  j.set("Scope", "local");
  return j;
}

} // namespace koker::volume
