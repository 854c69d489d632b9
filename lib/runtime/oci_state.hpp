// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_spec.hpp"
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// koker-oci's record of a container, as runc keeps one: ROOT/<id>/state.json (the init's pid
// and start time, the bundle, when it was created) beside exec.fifo, which exists from create
// until start (runtime-spec "Lifecycle": "created" means the init waits on it).
namespace koker::oci {

struct State {
  std::string id, bundle, rootfs, created;
  // The cgroupsPath as given (its directories are in ROOT/<id>/cgroup.json, oci_cgroup.hpp);
  // before that record existed, the group's name in koker/.
  std::string cgroup;
  int pid = 0;
  uint64_t pid_start = 0;
  bool systemd_cgroup = false; // --systemd-cgroup at create (later calls do not repeat it)
  std::map<std::string, std::string> annotations;
  Hooks hooks; // from config.json at create: start and delete run them (runtime/oci_hooks.hpp)
};

// True for a container ID runc accepts: letters, digits and "_+-.", not "." or "..".
bool valid_id(const std::string &id);
std::string dir_of(const std::string &root, const std::string &id);
std::string fifo_of(const std::string &root, const std::string &id);

// Makes ROOT/<id> (0700) and its exec.fifo; Error("container with id exists: ID") when taken.
void create_dir(const std::string &root, const std::string &id);
void save(const std::string &root, const State &st);
// Nothing when the container does not exist (or its state was never written).
std::optional<State> load(const std::string &root, const std::string &id);
// The IDs under root, sorted.
std::vector<std::string> list(const std::string &root);

// created (the init waits on exec.fifo), running, paused (its cgroup is frozen) or stopped.
std::string status(const std::string &root, const State &st);
// The spec's state JSON (runtime-spec "State"): ociVersion, id, status, pid (0 when
// stopped), bundle, rootfs, created, owner, annotations.
std::string state_json(const std::string &root, const State &st);
// The same with the status given: what a hook gets on stdin at its point of the lifecycle
// ("creating" before create returns, ...); pid is st.pid, 0 when status is "stopped".
std::string state_json(const State &st, std::string_view status);

} // namespace koker::oci
