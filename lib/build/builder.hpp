// SPDX-License-Identifier: MIT
#pragma once
#include "build/dockerfile.hpp"
#include "store/store.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// koker build: a Dockerfile's stages walked step by step as docker's classic builder does.
// Every step makes an image in the store (RUN in a container, COPY/ADD/WORKDIR in a
// workspace, the rest in the config only), untagged, whose parent is the step before and
// whose build key is the step's cache key: the parent image, the instruction as it resolved
// (args and env substituted, the RUN's build args, the flags) and for COPY/ADD the checksum
// of its sources. A later build finds the step by that key ("---> Using cache") until the
// first miss. The stages the target does not need are never built. docs/build.md tells it.
namespace koker::builder {

struct Options {
  std::string context;          // the context directory; "" for none (Dockerfile on stdin)
  std::string dockerfile_text;
  std::string dockerfile_name;  // for messages: "Dockerfile", "app/Containerfile"
  std::string dockerfile_rel;   // its path in the context ("" when outside): never ignored
  std::vector<std::string> tags; // normalised NAME:TAG
  dockerfile::Env build_args;
  std::string target;
  bool no_cache = false, pull = false, quiet = false;
  std::string network = "bridge";
  std::vector<std::pair<std::string, std::string>> labels; // --label, in order
  std::optional<int64_t> epoch; // SOURCE_DATE_EPOCH
};

// Builds and tags; returns the final image's ID. Progress goes to stderr unless quiet. A
// failing RUN is Error with exit code 1 naming the step and the command's code; anything else
// Error with 125. Nothing is tagged unless every step succeeded.
std::string build(store::Store &store, const Options &o);

} // namespace koker::builder
