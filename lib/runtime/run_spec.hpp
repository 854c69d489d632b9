// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "runtime/caps.hpp"
#include "runtime/create.hpp"
#include "runtime/user.hpp"
#include "store/container.hpp"
#include <string>

// koker-run's container as an OCI config: the config.json it writes into the container's
// bundle (containers/<id>/bundle/) and then runs through the engine koker-oci uses. What docker's
// defaults and koker-run's flags mean in the runtime-spec's terms; runc given the bundle runs
// the same container.
namespace koker::run_spec {

struct Inputs {
  const create::Options &options;
  const container::Record &record;
  user::Identity identity; // -u or the image's User, resolved in the image's /etc files
  caps::Set caps;          // after --cap-add and --cap-drop
  std::string dir;         // containers/<id>: hostname, hosts and resolv.conf to bind
  std::string init_path = ""; // --init: the host's koker-init, bound as /sbin/docker-init
};

// Where --init's binary goes in the container, as docker puts its docker-init.
constexpr const char INIT_IN_CONTAINER[] = "/sbin/docker-init";

// The config.json, all of it but linux.seccomp.
json::Value config(const Inputs &in);
// Adds linux.seccomp: profile, the JSON text of Docker's profile for the container's caps
// (seccomp::default_profile, or the copy seccomp::cached_default keeps).
void add_seccomp(json::Value &config, std::string profile);

} // namespace koker::run_spec
