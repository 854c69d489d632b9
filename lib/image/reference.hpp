// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>

namespace koker::registry {

// An image reference, normalised the way docker does: "alpine" is
// docker.io/library/alpine:latest.
struct Reference {
  std::string registry;   // "docker.io", "127.0.0.1:5000", "quay.io"
  std::string repository; // "library/alpine", "koker/one"
  std::string tag;        // "latest" when neither a tag nor a digest was given
  std::string digest;     // "sha256:<hex>" or empty

  // docker's short form: "alpine" for docker.io/library/alpine, else registry/repository.
  std::string name() const;
  // name():tag, as docker lists it in RepoTags ("alpine:latest"); "" when there is no tag.
  std::string tagged() const;
  // The full form: registry/repository[:tag][@digest].
  std::string canonical() const;
};

// Parses [docker://][REGISTRY[:PORT]/]NAME[:TAG][@sha256:HEX] by the distribution spec's
// grammar (lower-case path components, tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}); the first
// component is a registry when it has a '.' or ':' or is "localhost". Throws
// Error("invalid reference format: ...") otherwise.
Reference parse_reference(std::string_view text);

// The key the store files a user's image name under (store::ImageRecord's repo_tags and
// repo_digests): "name:tag" or "name@sha256:..."; empty when query is not a reference (an
// image ID, say).
std::string reference_key(std::string_view query);

// True for a tag by the distribution spec: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool valid_tag(std::string_view tag);

} // namespace koker::registry
