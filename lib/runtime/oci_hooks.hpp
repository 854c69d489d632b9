// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_spec.hpp"
#include "runtime/oci_state.hpp"
#include <string>
#include <string_view>
#include <vector>

namespace koker::json {
class Value;
}

// The config's hooks (runtime-spec "POSIX-platform Hooks"): programs koker-oci runs at six
// points of a container's life, each with the container's state JSON on its stdin. Where each
// runs (docs/cli.md "The OCI runtime: koker-oci"): prestart and createRuntime in koker-oci
// create, once the init's namespaces and mounts exist and before pivot_root; createContainer
// in the init, in the container's mount namespace before pivot_root; startContainer in the
// init, after start released it and before the command's execve; poststart in koker-oci start
// (and run) once the command runs; poststop in koker-oci delete, after the container is gone.
namespace koker::oci {

// Runs hooks in order, each with st's state JSON (status and pid as st and status give them)
// on stdin, its args and env, killed (its process group) at its timeout. Throws Error("KIND
// hook PATH failed: exit status N[: its last line of output]") or "... timed out after N s"
// for the first that fails; the rest do not run. kind: "prestart", "createRuntime", ...
void run_hooks(const std::vector<Hook> &hooks, std::string_view kind, const State &st,
               std::string_view status);
// The same, for poststart and poststop, whose failure the runtime-spec ("Lifecycle" steps 9
// and 13) makes a warning: each failure is logged and the next hook still runs.
void run_hooks_warn(const std::vector<Hook> &hooks, std::string_view kind, const State &st,
                    std::string_view status);

// hooks as config.json writes them, for state.json (parse_hooks reads it back).
json::Value hooks_json(const Hooks &hooks);

} // namespace koker::oci
