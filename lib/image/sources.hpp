// SPDX-License-Identifier: MIT
#pragma once
#include "image/image.hpp"
#include "image/ingest.hpp"
#include "store/store.hpp"
#include <memory>
#include <string>
#include <vector>

// The image sources of koker-pull (docs/cli.md "Image sources"), each turned into one manifest, the
// names to give the image, and an ingest::Source for its blobs.
namespace koker::sources {

struct Resolved {
  ingest::Manifest manifest;
  ingest::Names names;
  std::unique_ptr<ingest::Source> source;
};

// A registry reference ([docker://]NAME[:TAG][@DIGEST]); an index is resolved to platform's
// entry.
Resolved from_registry(std::string_view ref, const image::Platform &platform);
// An OCI image layout directory; tag picks the index entry by its ref.name annotation (empty:
// the only entry, else "latest").
Resolved from_oci_layout(const std::string &dir, std::string_view tag,
                         const image::Platform &platform);
// The directory a `docker save` archive was unpacked into.
Resolved from_docker_save(const std::string &dir);
// Every image of an image archive unpacked into dir, in the archive's order: the entries of
// index.json when there is one (an oci-archive, or Docker 25's hybrid: the manifests are then
// kept byte for byte), else those of manifest.json (docker save, with or without the legacy
// <id>/layer.tar directories). Names come from io.containerd.image.name, a ref.name that is a
// whole NAME:TAG, and the RepoTags of manifest.json's entry of the same config. Throws Error
// when dir holds neither file, or on an entry that is invalid or names a file outside dir.
std::vector<Resolved> from_archive(const std::string &dir, const image::Platform &platform);
// A root filesystem (a directory, or a tar/tar.gz/tar.zst file) made into a one-layer image;
// work files go to tmp (a directory of the store's tmp/).
Resolved from_rootfs(const store::Store &store, const std::string &path, const std::string &tmp);

// Splits "PATH[:TAG]" for oci: and oci-archive: (a tag never holds '/').
std::pair<std::string, std::string> split_path_tag(std::string_view text);
// Normalises a user-given NAME[:TAG] to docker's "name:tag" form.
std::string normalise_tag(std::string_view name);

} // namespace koker::sources
