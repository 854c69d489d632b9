// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_spec.hpp"

// The last steps an OCI "process" object asks of the process about to exec it, shared by the
// container's init (oci_init) and koker-oci exec (oci_exec): rlimits and oom_score_adj, then
// the ids and the five capability sets.
namespace koker::oci {

// process.rlimits (setrlimit each) and process.oomScoreAdj when set. Throws on a refusal.
void apply_limits(const Process &p);

// runtime-spec "process.user" and "capabilities": the bounding set, the groups and ids, then
// effective, permitted, inheritable and ambient. Call it as root, before no_new_privs and
// (with no_new_privs) the seccomp filter. Throws on a refusal.
void set_identity(const Process &p);

} // namespace koker::oci
