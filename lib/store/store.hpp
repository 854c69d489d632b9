// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The content-addressed store under KOKER_ROOT (mode 0700, CVE-2021-41091):
//   blobs/sha256/<hex>    manifests, configs and compressed layers as the manifest names them,
//                         read-only, named by their digest: what push and save send unchanged
//   layers/<hex>/diff     an unpacked layer, named by its diff_id; layers/<hex>/size
//   images.json           the image index, replaced atomically under locks/index.lock
//   locks/                flock files: store.lock (shared by pulls, exclusive for clean-up),
//                         index.lock, layer-<hex>.lock (one fetch of a layer at a time)
//   tmp/                  work in flight; renamed into place when complete, wiped when no
//                         pull is running, so a kill -9 leaves nothing that counts
//   containers/<id>/      a container: its record, upper/ and work/, its /etc files and
//                         bundle/ (config.json, and rootfs/, its root mounted while it runs)
//   init/etc/{hostname,hosts,resolv.conf}
//                         empty files: the top layer of every container's overlay, where
//                         koker-run binds the container's own files
namespace koker::store {

// The users looked up in an image are kept as cache/user-<image hex>-<key>
// (runtime/image_user); the garbage collection removes them with their image.
inline constexpr std::string_view USER_CACHE_PREFIX = "user-";

struct ImageRecord {
  std::string id; // the config's digest, as docker's image ID
  std::string manifest_digest;
  std::string manifest_media_type;
  std::vector<std::string> repo_tags;    // "alpine:latest"
  std::vector<std::string> repo_digests; // "alpine@sha256:..."
  std::vector<std::string> layers;       // diff_ids, bottom first
  // The manifest's layer digests, bottom first, each kept in blobs/ (empty for an image
  // stored by a koker older than push and save: it runs, but must be pulled again to leave).
  std::vector<std::string> layer_blobs;
  uint64_t size = 0;                     // unpacked bytes of all layers
  std::string created;                   // the config's "created"
  std::string pulled;                    // when it entered the store
  // koker-build's steps (docker's classic builder): the image a step was built on, and the
  // step's cache key (runtime/build_cache: parent, instruction, sources). An untagged image
  // that is another's parent is an intermediate one, hidden by `images` without -a.
  std::string parent;
  std::string build_key;
};

struct RemoveResult {
  std::vector<std::string> untagged;
  std::vector<std::string> deleted; // image IDs
};

// True while containers/<id> holds a container: a saved record, or one that a live process is
// creating (its "creating" claim); false for what a killed koker-run left, and for nothing.
bool holds_container(const std::string &root, std::string_view id);
// True when containers/<id> is what a koker-run killed while it created the container left:
// no record, and a "creating" claim whose process is gone.
bool abandoned_container(const std::string &root, std::string_view id);
// Removes such a directory (rm -rf) under the index lock, when it is still abandoned, after
// release() has taken down what its creator made outside the store (its cgroup, its root's
// mount: lifecycle::reclaim_abandoned). Under that lock, which create_container_dir holds from
// its mkdir to its claim, a directory a live koker-run is making is never taken for an
// abandoned one. Returns whether it was.
bool remove_abandoned_container(const std::string &root, std::string_view id,
                                const std::function<void()> &release);

class Store {
public:
  // Opens the store at root, creating it (0700) when missing.
  explicit Store(std::string root);
  const std::string &root() const { return m_root; }

  std::string blob_path(std::string_view digest) const;
  std::string layer_dir(std::string_view diff_id) const;
  // init/, made on first use: the mount points of the /etc files every container gets, as a
  // shared read-only layer (Docker's overlay2 makes such an "-init" layer per container), so
  // an image without them costs no copy-up of /etc and no new files in the upper layer.
  std::string init_layer() const;
  bool has_layer(std::string_view diff_id) const;
  bool has_blob(std::string_view digest) const;
  uint64_t layer_size(std::string_view diff_id) const;
  // A fresh private directory under tmp/.
  std::string make_tmp_dir() const;

  // Stores a small blob (manifest, config) whose digest the caller has verified.
  void put_blob(std::string_view digest, std::string_view data) const;
  // Moves a complete file whose digest the caller has verified (written under tmp/) into
  // blobs/, read-only; when the blob is already there the file is removed.
  void commit_blob(const std::string &tmp_file, std::string_view digest) const;
  // Reads a stored blob; nothing when absent.
  std::optional<std::string> read_blob(std::string_view digest, size_t max) const;
  // Moves a layer unpacked in tmp_dir (holding diff/ and size) into place. When another pull
  // got there first, tmp_dir is removed and theirs is kept.
  void commit_layer(const std::string &tmp_dir, std::string_view diff_id) const;

  // Held by a pull for its whole run: shared, so pulls run together while clean-up waits.
  // The first pull to find the store idle wipes tmp/ (what a killed pull left).
  sys::FileLock lock_for_pull() const;
  // Exclusive lock on one layer while it is fetched.
  sys::FileLock lock_layer(std::string_view diff_id) const;

  std::vector<ImageRecord> images() const;
  // Adds or merges an image; its tags are taken off any other image (docker moves tags).
  void add_image(const ImageRecord &rec) const;
  // Finds by ID, unique ID prefix (12+ hex, with or without "sha256:"), repo tag or repo
  // digest. ref is the normalised form of query when query parses as a reference.
  std::optional<ImageRecord> find_image(std::string_view query, std::string_view ref = "") const;
  // Makes containers/<id> (0700) for a new container of image image_id and claims the image
  // for it until the container's record is saved: the file "creating" holds the image ID and
  // this process's pid and start time. It is written under the index lock, after checking the
  // image is still there, so that remove_image, which takes that lock too, either ran before
  // (Error: the image is gone) or sees the claim and refuses: docker and podman never remove an
  // image a container being created uses. Returns the directory.
  std::string create_container_dir(std::string_view id, std::string_view image_id) const;
  // Untags or deletes as docker rmi does, then removes layers and blobs nothing uses.
  RemoveResult remove_image(std::string_view query, std::string_view ref, bool force) const;
  // Removes layers and blobs no image uses, when no pull is running (else later). What a
  // killed koker-run left half created holds no layer; lifecycle::reclaim_abandoned removes it.
  void collect_garbage() const;

  // koker-push --compression: layers/<hex>/<kind> ("gzip", "zstd") names the blob (in blobs/)
  // holding layer diff_id compressed that way, so a second push recompresses nothing; the
  // garbage collector keeps the blobs a kept layer names. Nothing when absent or stale.
  std::optional<std::string> recompressed_blob(std::string_view diff_id,
                                               std::string_view kind) const;
  void set_recompressed_blob(std::string_view diff_id, std::string_view kind,
                             std::string_view digest) const;

private:
  std::vector<ImageRecord> load_index() const;
  void save_index(const std::vector<ImageRecord> &images) const;

  std::string m_root;
};

} // namespace koker::store
