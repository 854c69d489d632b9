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

// The config's Env as the scope's ENV: what substitution sees from the base image on.
void seed_env(StageVars &vars, const json::Value &doc);

// The shell of the shell forms: the config's Shell, else /bin/sh -c.
std::vector<std::string> shell(const json::Value &doc);

// Applies ins to doc (the whole image config: doc["config"] changes, "author" for
// MAINTAINER) and returns the history's words for it: "ENV A=1 B=2", "CMD [\"sh\"]". Error
// (exit 125) naming the line for a bad argument (port, duration, signal).
std::string apply(json::Value &doc, const dockerfile::Instruction &ins, StageVars &vars,
                  const std::string &file_name);

// koker-commit's --change: one instruction's text, read by the Dockerfile parser and applied
// as in a build (variables substituted from vars: the container's Env), CMD ENTRYPOINT ENV
// EXPOSE LABEL ONBUILD STOPSIGNAL USER VOLUME WORKDIR only, as docker commit. Error (125)
// naming the change for anything else or bad syntax.
void apply_change(json::Value &doc, std::string_view change, StageVars &vars);

// Go's time.ParseDuration for HEALTHCHECK's flags ("30s", "1m30s", "500ms"), in nanoseconds;
// nullopt when malformed.
std::optional<int64_t> parse_duration(std::string_view text);

} // namespace koker::build_config
