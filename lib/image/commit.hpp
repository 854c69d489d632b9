// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "image/archive.hpp"
#include "store/store.hpp"
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// koker-commit's image: a container's upper directory as a new top layer over its image, and
// the config docker commit writes for it. The config and change rules are pure, for unit tests.
namespace koker::commit {

// What the container runs, as its record holds it (docker's container Config).
struct Settings {
  std::vector<std::string> cmd, entrypoint, env;
  std::string user, working_dir, stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports; // "80/tcp"
  std::vector<std::string> volumes;       // "/data"
};

// Applies one --change instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,
// USER, VOLUME, WORKDIR, in Dockerfile syntax) to config (an image config's "config" object).
// cmd_set says a CMD came earlier: an ENTRYPOINT without one clears Cmd, as in a Dockerfile.
// Throws Error naming the instruction for RUN and anything else, or bad syntax.
void apply_change(json::Value &config, std::string_view instruction, bool &cmd_set);

// Config edits koker-build's instructions share with --change: ENV's key=value in Env (replaced
// in place when set), EXPOSE's "80" -> "80/tcp" (Error naming instruction for a bad port), and
// WORKDIR dir against the current one (cleaned, absolute).
void set_env(json::Value &config, const std::string &key, const std::string &value);
std::string port_key(std::string_view instruction, const std::string &port);
std::string join_workdir(const std::string &current, const std::string &dir);

// SOURCE_DATE_EPOCH (reproducible-builds.org), when set: Error for one that is not seconds.
std::optional<int64_t> source_date_epoch();
// An image's "created": the epoch in whole seconds as Go's RFC3339Nano writes them (as buildah
// --timestamp does), else now.
std::string created_time(std::optional<int64_t> epoch);

struct History {
  std::string created, created_by, author, comment;
  bool empty_layer = false;
};

// The new image config: base (the image's config document) with the container's settings,
// the changes, diff_id appended to rootfs.diff_ids (unless empty: docker adds no layer for a
// container without changes) and h appended to history. created is the image's time.
std::string make_config(const json::Value &base, const Settings &s,
                        const std::vector<std::string> &changes, const std::string &diff_id,
                        const History &h);

// The tar holding no entries (1024 zero bytes): docker's empty layer.
constexpr std::string_view empty_layer_diff_id =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

struct Layer {
  std::string diff_id;   // also the blob's digest: the layer is kept as a plain tar
  uint64_t size = 0;     // bytes unpacked
  uint64_t tar_size = 0; // bytes of the blob
  uint64_t entries = 0;
};

// Packs upper (archive::pack_upper) into a tar blob under tmp/ while unpacking the same bytes
// through archive::extract_layer into a layer directory, checks both saw the same diff_id,
// then moves the blob into blobs/ and the layer into layers/ (the blob first, as a pull
// does). The caller holds the store's pull lock.
Layer store_layer(const store::Store &store, const std::string &upper,
                  const archive::UpperOptions &options);

// The manifest of the new image, in the family (Docker v2s2 or OCI) of base_manifest, whose
// layers it keeps, the new layer (a plain tar) on top unless layer is empty.
std::string make_manifest(std::string_view base_manifest, std::string_view media_type,
                          std::string_view config_digest, uint64_t config_size,
                          const std::optional<Layer> &layer);

// A new image in the store: config (its blob), the manifest over base's layers and layer on top
// (base's family; Docker v2s2 for an image with no base), and its record with tags, parent and
// build_key (store::ImageRecord), created as the config says. base may be an empty record (FROM
// scratch). An image whose base was stored by a koker older than push gets no manifest (it
// runs, but push and save need its base pulled again): a warning says so.
store::ImageRecord register_image(const store::Store &store, const store::ImageRecord &base,
                                  const std::string &config, const std::optional<Layer> &layer,
                                  const std::string &created,
                                  const std::vector<std::string> &tags,
                                  const std::string &build_key = "");

} // namespace koker::commit
