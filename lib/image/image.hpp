// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// OCI image-spec and Docker v2 schema 2 documents: manifests, indexes, configs. Pure parsing
// and checks, no I/O, so every rule here has a unit test.
namespace koker::image {

namespace media {
constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::string_view docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
constexpr std::string_view oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
} // namespace media

// containerd's MaxManifestSize (4 * 1048 * 1048); configs get twice that.
constexpr size_t max_manifest_size = 4 * 1048 * 1048;
constexpr size_t max_config_size = 8 * 1048 * 1048;
// Docker's limit on the layers of an image it runs. koker-pull refuses more (ingest::pull_image),
// so every stored image can run: runtime/rootfs.cpp mounts this many in one overlay.
constexpr size_t max_layers = 128;

struct Descriptor {
  std::string media_type;
  std::string digest; // checked with digest::is_valid
  uint64_t size = 0;
  std::string os, arch, variant; // platform, in index entries
  std::string ref_name;           // org.opencontainers.image.ref.name, in OCI layouts
  std::string image_name;         // io.containerd.image.name (docker save >= 25): a full name
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Platform {
  std::string os = "linux";
  std::string arch;
  std::string variant;
  // linux and the architecture koker runs on, in Go's names (amd64, arm64, ...).
  static Platform host();
  // "linux/arm64/v8", "linux/amd64" or "arm64"; throws Error on anything else.
  static Platform parse(std::string_view text);
  std::string str() const;
};

bool is_index(std::string_view media_type);
bool is_manifest(std::string_view media_type);

// Parses a manifest whose declared media type is media_type; throws Error when it is not a
// container image manifest (schemaVersion 2, a config of an image config type, supported
// layer types, valid digests, no "manifests" key: CVE-2021-41190).
Manifest parse_manifest(std::string_view body, std::string_view media_type);
// Parses an index or manifest list; throws Error on defects (e.g. "layers" or "config" keys).
std::vector<Descriptor> parse_index(std::string_view body, std::string_view media_type);
// The index entry for platform; throws Error("no image for linux/arm64 ...") when none fits.
const Descriptor &select_platform(const std::vector<Descriptor> &entries, const Platform &p);

struct Config {
  std::vector<std::string> diff_ids;
  std::string os, arch, variant, created;
  // config.Env, Cmd, Entrypoint, User and WorkingDir: what a container runs.
  std::vector<std::string> env, cmd, entrypoint;
  std::string user, working_dir;
  std::map<std::string, std::string> labels; // config.Labels, which a container inherits
  json::Value doc; // the whole config, for inspect
};
// Parses an image config; throws Error unless rootfs.type is "layers" and every diff_id is a
// valid digest, or when a field koker uses has the wrong type or holds a NUL byte (naming
// the field, as podman does).
Config parse_config(std::string_view body);

// True for a layer media type koker can unpack (tar, gzip, zstd; OCI and Docker names).
bool is_supported_layer(std::string_view media_type);

} // namespace koker::image
