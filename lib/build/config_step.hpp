// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "build/dockerfile.hpp"
#include <string>
#include <vector>

// The instructions that change only the image's config (ENV ARG LABEL CMD ENTRYPOINT EXPOSE
// VOLUME USER WORKDIR STOPSIGNAL SHELL HEALTHCHECK ONBUILD MAINTAINER), applied to the config
// document the stage builds, with docker's substitution (Scope) and its rules: ENTRYPOINT
// resets a CMD inherited from the base, WORKDIR is relative to the last one, the shell form
// runs through SHELL. Pure: no file is touched.
namespace koker::build_config {

// What a stage carries from step to step besides the config: its variables and whether a CMD
// came in this stage yet.
struct StageVars {
  dockerfile::Scope scope;
  bool cmd_set = false;
};

// The shell of the shell forms: the config's Shell, else /bin/sh -c.
std::vector<std::string> shell(const json::Value &doc);

// Applies ins to doc (the whole image config: doc["config"] changes, "author" for
// MAINTAINER) and returns the history's words for it: "ENV A=1 B=2", "CMD [\"sh\"]". Error
// (exit 125) naming the line for a bad argument (port, duration, signal).
std::string apply(json::Value &doc, const dockerfile::Instruction &ins, StageVars &vars,
                  const std::string &file_name);

// Go's time.ParseDuration for HEALTHCHECK's flags ("30s", "1m30s", "500ms"), in nanoseconds;
// nullopt when malformed.
std::optional<int64_t> parse_duration(std::string_view text);

} // namespace koker::build_config
