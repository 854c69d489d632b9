// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "base/sys.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Named volumes, laid out as docker's local driver does, under KOKER_ROOT/volumes/<name>/:
//   _data/        what the container sees (0755)
//   volume.json   Name, CreatedAt, Labels (written before the directory gets its name)
//   users/<id>    one empty file per container that uses the volume, running or not
//   content.lock  flock, held while a container fills the volume (copy-up)
// A volume is made in volumes/.new-<random>/ and renamed into place whole; it is removed by
// renaming it to volumes/.rm-<random>/ first. Names starting with '.' are not volume names,
// so what a kill -9 leaves there is never listed, and the next change wipes it; a claim of a
// container that a killed koker-run left half made does not count. Every change
// is made under locks/volumes.lock (flock, exclusive): a volume is never removed while a
// container is being given it.
namespace koker::volume {

// docker's label on the volumes it makes for an image's VOLUME or "-v /path" (docker 23+):
// what `volume prune` removes without --all, and `rm -v` with the container.
constexpr char ANONYMOUS_LABEL[] = "com.docker.volume.anonymous";

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Volume {
  std::string name, created_at;
  Labels labels;
  bool anonymous() const;
};

// docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255 characters.
bool valid_name(std::string_view name);
// Throws Error with docker's message unless valid_name(name).
void check_name(std::string_view name);
// KOKER_ROOT/volumes/<name>/_data: the volume's content, what docker calls its Mountpoint.
std::string data_path(const std::string &root, std::string_view name);

// The volume, if it exists.
std::optional<Volume> find(const std::string &root, std::string_view name);
// Every volume, by name.
std::vector<Volume> list(const std::string &root);
// The containers that use the volume: those whose claim is in users/ and which still exist
// (store::holds_container: a killed koker-run's half-made container does not count).
std::vector<std::string> users(const std::string &root, std::string_view name);

// Makes the volume unless it exists (docker's volume create is idempotent: an existing
// volume is kept as it is). Returns it, and whether it was made now.
std::pair<Volume, bool> create(const std::string &root, std::string_view name,
                               const Labels &labels);
// Gives the volume to container id (made first, with labels, when missing, as docker's -v
// does). True when it was made now.
bool claim(const std::string &root, std::string_view name, std::string_view id,
           const Labels &labels);
// Takes the volume away from container id; nothing when it was not given it.
void release(const std::string &root, std::string_view name, std::string_view id);
// Removes the volume: Error "no such volume" or, while a container uses it, docker's
// "volume is in use - [ID...]".
void remove(const std::string &root, std::string_view name);

// Held while a container fills the volume with its image's content (copy-up), so that two
// containers created at once with a new volume do not both copy into it.
sys::FileLock lock_content(const std::string &root, std::string_view name);

struct Pruned {
  std::vector<std::string> names;
  uint64_t bytes = 0; // what their content took
};
// Removes the volumes no container uses: the anonymous ones only, or all with all (docker 23+
// `volume prune` and its --all). `system prune --volumes` calls it.
Pruned prune_unused(const std::string &root, bool all);

// What `volume inspect` prints for it: docker's fields, Driver and Scope "local".
json::Value to_json(const std::string &root, const Volume &v);

} // namespace koker::volume
