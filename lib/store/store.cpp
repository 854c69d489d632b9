// SPDX-License-Identifier: MIT
#include "base/text.hpp"
#include "store/store.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::store {

namespace {

void remove_from(std::vector<std::string> &list, std::string_view item) {
  list.erase(std::remove(list.begin(), list.end(), item), list.end());
}

bool contains(const std::vector<std::string> &list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

} // namespace

Store::Store(std::string root) : m_root(std::move(root)) {
  if (m_root.empty() || m_root[0] != '/')
    fail("unable to open store ", printable(m_root), ": the root must be an absolute path");
  while (m_root.size() > 1 && m_root.back() == '/')
    m_root.pop_back();
  struct stat st;
  if (::stat(m_root.c_str(), &st) < 0) {
    log::debug("mkdir ", m_root, " 0700");
    sys::mkdir_p(m_root, 0700);
  }
  // 0700 even when the directory existed: setuid binaries of images live below (CVE-2021-41091).
  if (::stat(m_root.c_str(), &st) < 0 || (st.st_mode & 07777) != 0700)
    check(::chmod(m_root.c_str(), 0700), "unable to chmod ", m_root);
  for (const char *d : {"blobs", "blobs/sha256", "layers", "locks", "tmp"})
    sys::mkdir_p(cat(m_root, '/', d), 0700);
}

std::string Store::init_layer() const {
  std::string dir = m_root + "/init";
  if (sys::exists(dir + "/etc/resolv.conf"))
    return dir;
  // Built aside and renamed into place: a concurrent run sees all of it or none.
  std::string tmp = cat(m_root, "/tmp/init-", sys::random_hex(6));
  log::debug("mkdir ", dir, " (the mount points of /etc/hostname, /etc/hosts, /etc/resolv.conf)");
  sys::mkdir_p(tmp + "/etc", 0755);
  for (const char *name : {"hostname", "hosts", "resolv.conf"})
    sys::write_new_file(cat(tmp, "/etc/", name), "");
  if (::rename(tmp.c_str(), dir.c_str()) < 0) {
    int err = errno;
    sys::rm_rf(tmp);
    if (err != EEXIST && err != ENOTEMPTY)
      sys_fail("unable to create ", dir);
  }
  return dir;
}

std::string Store::blob_path(std::string_view d) const {
  return cat(m_root, "/blobs/sha256/", digest::hex_of(d));
}
std::string Store::layer_dir(std::string_view diff_id) const {
  return cat(m_root, "/layers/", digest::hex_of(diff_id));
}
bool Store::has_layer(std::string_view diff_id) const { return sys::exists(layer_dir(diff_id)); }
bool Store::has_blob(std::string_view d) const { return sys::exists(blob_path(d)); }

uint64_t Store::layer_size(std::string_view diff_id) const {
  auto text = sys::read_file_if_exists(layer_dir(diff_id) + "/size", 64);
  auto n = text ? sys::parse_uint(*text) : std::nullopt;
  return n ? *n : 0;
}

std::string Store::make_tmp_dir() const {
  std::string dir = cat(m_root, "/tmp/", sys::random_hex(8));
  check(::mkdir(dir.c_str(), 0700), "unable to create ", dir);
  return dir;
}

void Store::put_blob(std::string_view d, std::string_view data) const {
  std::string path = blob_path(d);
  if (sys::exists(path))
    return;
  std::string tmp = cat(m_root, "/tmp/blob-", sys::random_hex(8));
  sys::write_file_atomic(tmp, data, 0444);
  check(::rename(tmp.c_str(), path.c_str()), "unable to rename ", tmp, " to ", path);
  sys::fsync_dir(sys::dirname(path));
}

void Store::commit_blob(const std::string &tmp_file, std::string_view d) const {
  std::string path = blob_path(d);
  check(::chmod(tmp_file.c_str(), 0444), "unable to chmod ", tmp_file);
  log::debug("rename ", tmp_file, " ", path);
  check(::rename(tmp_file.c_str(), path.c_str()), "unable to rename ", tmp_file, " to ", path);
  sys::fsync_dir(sys::dirname(path));
}

std::optional<std::string> Store::read_blob(std::string_view d, size_t max) const {
  return sys::read_file_if_exists(blob_path(d), max);
}

void Store::commit_layer(const std::string &tmp_dir, std::string_view diff_id) const {
  std::string dest = layer_dir(diff_id);
  log::debug("rename ", tmp_dir, " ", dest);
  if (::rename(tmp_dir.c_str(), dest.c_str()) == 0) {
    sys::fsync_dir(m_root + "/layers");
    return;
  }
  if (errno != EEXIST && errno != ENOTEMPTY)
    sys_fail("unable to rename ", tmp_dir, " to ", dest);
  sys::rm_rf(tmp_dir); // identical content is already in place
}

sys::FileLock Store::lock_for_pull() const {
  std::string path = m_root + "/locks/store.lock";
  sys::FileLock lock(path, sys::FileLock::Mode::exclusive, false);
  if (lock.held()) {
    // No other pull and no clean-up is running: whatever tmp/ holds was left by a killed one.
    for (const auto &name : sys::list_dir(m_root + "/tmp")) {
      log::debug("rm -rf ", m_root, "/tmp/", name, " (left by an interrupted run)");
      sys::rm_rf(cat(m_root, "/tmp/", name));
    }
    lock.relock(sys::FileLock::Mode::shared);
    return lock;
  }
  return sys::FileLock(path, sys::FileLock::Mode::shared);
}

sys::FileLock Store::lock_layer(std::string_view diff_id) const {
  return sys::FileLock(cat(m_root, "/locks/layer-", digest::hex_of(diff_id), ".lock"),
                       sys::FileLock::Mode::exclusive);
}

std::vector<ImageRecord> Store::load_index() const {
  auto text = sys::read_file_if_exists(m_root + "/images.json", 256 << 20);
  std::vector<ImageRecord> out;
  if (!text)
    return out;
  json::Value doc = json::parse(*text, m_root + "/images.json", 1 << 24);
  const json::Value *list = doc.find("images");
  if (!list || !list->is_array())
    fail("unable to read ", m_root, "/images.json: no image list");
  for (const auto &v : list->items()) {
    json::Fields f(&v, m_root + "/images.json");
    ImageRecord r;
    r.id = f.string("Id");
    r.manifest_digest = f.string("Manifest");
    r.manifest_media_type = f.string("ManifestMediaType");
    r.repo_tags = f.strings("RepoTags");
    r.repo_digests = f.strings("RepoDigests");
    r.layers = f.strings("Layers");
    r.layer_blobs = f.strings("LayerBlobs");
    r.size = static_cast<uint64_t>(f.integer("Size"));
    r.created = f.string("Created");
    r.pulled = f.string("Pulled");
    r.parent = f.string("Parent");
    r.build_key = f.string("BuildKey");
    if (!digest::is_valid(r.id))
      fail("unable to read ", m_root, "/images.json: bad image ID");
    for (const auto &b : r.layer_blobs)
      if (!digest::is_valid(b))
        fail("unable to read ", m_root, "/images.json: bad layer digest in image ", r.id);
    out.push_back(std::move(r));
  }
  return out;
}

void Store::save_index(const std::vector<ImageRecord> &images) const {
  json::Value list = json::Value::array();
  for (const auto &r : images) {
    json::Value v = json::Value::object();
    v.set("Id", r.id);
    v.set("Manifest", r.manifest_digest);
    v.set("ManifestMediaType", r.manifest_media_type);
    v.set("RepoTags", json::string_array(r.repo_tags));
    v.set("RepoDigests", json::string_array(r.repo_digests));
    v.set("Layers", json::string_array(r.layers));
    v.set("LayerBlobs", json::string_array(r.layer_blobs));
    v.set("Size", json::Value(r.size));
    v.set("Created", r.created);
    v.set("Pulled", r.pulled);
    if (!r.parent.empty())
      v.set("Parent", r.parent);
    if (!r.build_key.empty())
      v.set("BuildKey", r.build_key);
    list.push(std::move(v));
  }
  json::Value doc = json::Value::object();
  doc.set("images", std::move(list));
  log::debug("write ", m_root, "/images.json (", images.size(), " images; temp, fsync, rename)");
  sys::write_file_atomic(m_root + "/images.json", doc.dump(1) + "\n", 0600);
}

std::vector<ImageRecord> Store::images() const { return load_index(); }

void Store::add_image(const ImageRecord &rec) const {
  sys::FileLock lock(m_root + "/locks/index.lock", sys::FileLock::Mode::exclusive);
  auto images = load_index();
  for (auto &other : images)
    if (other.id != rec.id)
      for (const auto &tag : rec.repo_tags)
        remove_from(other.repo_tags, tag);
  auto it = std::find_if(images.begin(), images.end(),
                         [&](const ImageRecord &r) { return r.id == rec.id; });
  if (it == images.end()) {
    images.push_back(rec);
  } else {
    for (const auto &t : rec.repo_tags)
      if (!contains(it->repo_tags, t))
        it->repo_tags.push_back(t);
    for (const auto &d : rec.repo_digests)
      if (!contains(it->repo_digests, d))
        it->repo_digests.push_back(d);
    it->manifest_digest = rec.manifest_digest;
    it->manifest_media_type = rec.manifest_media_type;
    it->layer_blobs = rec.layer_blobs;
    if (it->build_key.empty()) {
      it->build_key = rec.build_key;
      it->parent = rec.parent;
    }
  }
  save_index(images);
}

namespace {
enum class Match { none, id, tag, digest };

Match match(const ImageRecord &r, std::string_view query, std::string_view ref) {
  std::string_view hex = query.substr(0, 7) == "sha256:" ? query.substr(7) : query;
  if (r.id == query || (hex.size() >= 12 && text::all_lower_hex(hex) && r.id.compare(7, hex.size(), hex) == 0))
    return Match::id;
  for (std::string_view q : {query, ref}) {
    if (q.empty())
      continue;
    if (contains(r.repo_tags, q))
      return Match::tag;
    if (contains(r.repo_digests, q))
      return Match::digest;
  }
  return Match::none;
}
} // namespace

std::optional<ImageRecord> Store::find_image(std::string_view query, std::string_view ref) const {
  std::optional<ImageRecord> found;
  for (auto &r : load_index()) {
    Match m = match(r, query, ref);
    if (m == Match::none)
      continue;
    if (m != Match::id)
      return r; // a tag or digest names one image
    if (found)
      fail("image ID prefix ", printable(query), " is ambiguous");
    found = r;
  }
  return found;
}

std::string Store::create_container_dir(std::string_view id, std::string_view image_id) const {
  std::string dir = container::dir_of(m_root, id);
  sys::FileLock lock(m_root + "/locks/index.lock", sys::FileLock::Mode::shared);
  auto images = load_index();
  if (std::none_of(images.begin(), images.end(),
                   [&](const ImageRecord &r) { return r.id == image_id; }))
    fail("unable to create a container of image ", image_id.substr(7, 12),
         ": the image was removed meanwhile");
  sys::mkdir_p(m_root + "/containers", 0700);
  log::debug("mkdir ", dir, "; write ", dir, "/creating (a claim on image ", image_id.substr(7, 12),
             ")");
  check(::mkdir(dir.c_str(), 0700), "unable to create ", dir);
  int pid = static_cast<int>(::getpid());
  try {
    sys::write_new_file(dir + "/creating",
                        cat(image_id, "\n", pid, " ", container::process_start_time(pid), "\n"),
                        0600);
  } catch (...) {
    sys::rm_rf(dir);
    throw;
  }
  return dir;
}

namespace {
// The claim of containers/<name> when it is still being created ("creating", no record):
// the image ID, and whether its creator still runs. Nothing for a saved container.
struct Claim {
  std::string image_id;
  bool creator_alive = false;
};
std::optional<Claim> claim_of(const std::string &dir) {
  if (sys::exists(dir + "/config.json"))
    return std::nullopt;
  auto lines = text::split(sys::read_file_if_exists(dir + "/creating", 4096).value_or(""), '\n');
  Claim c;
  c.image_id = lines[0];
  auto words = text::split(lines.size() > 1 ? lines[1] : "", ' ');
  auto pid = sys::parse_uint(words[0]);
  auto start = words.size() > 1 ? sys::parse_uint(words[1]) : std::nullopt;
  c.creator_alive = pid && start && *pid < (1u << 31) &&
                    container::process_alive(static_cast<int>(*pid), *start);
  return c;
}

// The first container that uses image id: a saved record (running ones first), else a
// container still being created by a live process (its "creating" claim).
std::optional<container::Record> user_of(const std::string &root, const std::string &id) {
  std::optional<container::Record> user;
  for (auto &c : container::list(root))
    if (c.image_id == id && (!user || container::refresh(root, c).status == "running"))
      user = container::refresh(root, c);
  if (user || !sys::exists(root + "/containers"))
    return user;
  for (const auto &name : sys::list_dir(root + "/containers")) {
    auto claim = claim_of(cat(root, "/containers/", name));
    if (claim && claim->image_id == id && claim->creator_alive) {
      container::Record being_created;
      being_created.id = name;
      being_created.status = "being created";
      return being_created;
    }
  }
  return std::nullopt;
}
} // namespace

bool holds_container(const std::string &root, std::string_view id) {
  std::string dir = container::dir_of(root, id);
  if (!sys::exists(dir))
    return false;
  auto claim = claim_of(dir);
  return !claim || claim->creator_alive;
}

bool abandoned_container(const std::string &root, std::string_view id) {
  std::string dir = container::dir_of(root, id);
  if (!sys::exists(dir))
    return false;
  auto claim = claim_of(dir);
  return claim && !claim->creator_alive;
}

bool remove_abandoned_container(const std::string &root, std::string_view id,
                                const std::function<void()> &release) {
  sys::FileLock index(root + "/locks/index.lock", sys::FileLock::Mode::exclusive);
  if (!abandoned_container(root, id))
    return false;
  release();
  std::string dir = container::dir_of(root, id);
  log::debug("rm -rf ", dir, " (its creator died before saving its record)");
  sys::rm_rf(dir);
  return true;
}

RemoveResult Store::remove_image(std::string_view query, std::string_view ref, bool force) const {
  RemoveResult res;
  {
    sys::FileLock lock(m_root + "/locks/index.lock", sys::FileLock::Mode::exclusive);
    auto images = load_index();
    auto it = images.end();
    Match how = Match::none;
    for (auto i = images.begin(); i != images.end(); ++i) {
      Match m = match(*i, query, ref);
      if (m == Match::none)
        continue;
      if (it != images.end() && how == Match::id && m == Match::id)
        fail("image ID prefix ", printable(query), " is ambiguous");
      if (it == images.end() || m != Match::id) {
        it = i;
        how = m;
      }
    }
    if (it == images.end())
      fail("no such image: ", printable(query));
    if (how == Match::tag && it->repo_tags.size() > 1) {
      // docker rmi NAME:TAG of an image with other tags only removes that tag
      std::string tag = contains(it->repo_tags, query) ? std::string(query) : std::string(ref);
      remove_from(it->repo_tags, tag);
      res.untagged.push_back(tag);
    } else {
      if (how == Match::id && it->repo_tags.size() > 1 && !force)
        fail("unable to remove image ", printable(query),
             ": it is referenced by several tags (use -f)");
      // A container's root is made of the image's layers: they stay while it exists, and
      // while one is being created from it.
      std::optional<container::Record> user = user_of(m_root, it->id);
      if (user && user->status == "being created")
        fail("unable to remove image ", printable(query), ": container ", user->id.substr(0, 12),
             " is being created from it");
      if (user && (!force || user->status == "running"))
        fail("unable to remove image ", printable(query), ": container ", user->id.substr(0, 12),
             " (", user->name, ") ", user->status == "running" ? "is running from it" : "uses it",
             user->status == "running" ? "" : " (remove it first, or use -f to untag only)");
      res.untagged = it->repo_tags;
      if (user) {
        it->repo_tags.clear(); // -f with a stopped container: untagged, kept for the container
      } else {
        res.deleted.push_back(it->id);
        images.erase(it);
      }
    }
    save_index(images);
  }
  collect_garbage();
  return res;
}

void Store::collect_garbage() const {
  sys::FileLock busy(m_root + "/locks/store.lock", sys::FileLock::Mode::exclusive, false);
  if (!busy.held()) {
    log::debug("a pull is running: unused layers stay until the next clean-up");
    return;
  }
  std::set<std::string> layers, blobs, images;
  for (const auto &r : load_index()) {
    for (const auto &l : r.layers)
      layers.insert(digest::hex_of(l));
    blobs.insert(digest::hex_of(r.id));
    images.insert(digest::hex_of(r.id));
    for (const auto &b : r.layer_blobs)
      blobs.insert(digest::hex_of(b));
    if (digest::is_valid(r.manifest_digest))
      blobs.insert(digest::hex_of(r.manifest_digest));
  }
  for (const auto &name : sys::list_dir(m_root + "/layers")) {
    if (layers.count(name)) {
      for (const char *kind : {"gzip", "zstd"}) // push --compression's blobs
        if (auto d = recompressed_blob("sha256:" + name, kind))
          blobs.insert(digest::hex_of(*d));
      continue;
    }
    // Renamed out of layers/ first, so a half-removed layer is never taken for a whole one.
    std::string doomed = cat(m_root, "/tmp/gc-", name);
    log::debug("rm -rf ", m_root, "/layers/", name, " (no image uses it)");
    check(::rename(cat(m_root, "/layers/", name).c_str(), doomed.c_str()),
          "unable to move unused layer ", name);
    sys::rm_rf(doomed);
  }
  for (const auto &name : sys::list_dir(m_root + "/blobs/sha256"))
    if (!blobs.count(name)) {
      log::debug("rm ", m_root, "/blobs/sha256/", name);
      sys::rm_rf(cat(m_root, "/blobs/sha256/", name));
    }
  // What cache/ keeps of an image (USER_CACHE_PREFIX<image hex>-<key>) goes with it.
  if (sys::exists(m_root + "/cache"))
    for (const auto &name : sys::list_dir(m_root + "/cache")) {
      constexpr size_t hex_at = USER_CACHE_PREFIX.size(), hex_len = 64;
      if (name.rfind(USER_CACHE_PREFIX, 0) == 0 && name.size() > hex_at + hex_len &&
          !images.count(name.substr(hex_at, hex_len))) {
        log::debug("rm ", m_root, "/cache/", name, " (its image is gone)");
        ::unlink(cat(m_root, "/cache/", name).c_str());
      }
    }
}

std::optional<std::string> Store::recompressed_blob(std::string_view diff_id,
                                                    std::string_view kind) const {
  auto text = sys::read_file_if_exists(cat(layer_dir(diff_id), "/", kind), 128);
  if (!text)
    return std::nullopt;
  std::string d(text::trim(*text));
  if (!digest::is_valid(d) || !has_blob(d))
    return std::nullopt;
  return d;
}

void Store::set_recompressed_blob(std::string_view diff_id, std::string_view kind,
                                  std::string_view digest) const {
  std::string path = cat(layer_dir(diff_id), "/", kind);
  log::debug("write ", path, " (", digest, ")");
  sys::write_file_atomic(path, cat(digest, "\n"), 0444);
}

} // namespace koker::store
