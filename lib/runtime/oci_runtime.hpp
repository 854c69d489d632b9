// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_state.hpp"
#include <string>
#include <sys/types.h>
#include <vector>

// The OCI runtime's operations on one container, as runc's command line names them; what
// koker-oci calls. Errors use runc's wording where clients match it ("container does not
// exist", "container not running", ...).
namespace koker::oci {

struct CreateOptions {
  std::string root, id, bundle = ".", pid_file, console_socket;
  bool no_pivot = false, systemd_cgroup = false;
  int preserve_fds = 0;
  bool exec_at_once = false; // run: no exec.fifo to wait on
};

// Sets the container up from BUNDLE/config.json and leaves its init waiting on exec.fifo (or,
// with exec_at_once, running its command). Writes the pid file. Returns the init's pid.
pid_t create(const CreateOptions &o);
// Lets a created container's init exec its command.
void start(const std::string &root, const std::string &id);
// Sends sig to the init, or with all to every process of the container.
void kill(const std::string &root, const std::string &id, int sig, bool all);
// Removes a stopped container (or any, with force, after killing it). An unknown ID with
// force is not an error.
void remove(const std::string &root, const std::string &id, bool force);
void pause(const std::string &root, const std::string &id);
void resume(const std::string &root, const std::string &id);
// The pids of the container's processes.
std::vector<pid_t> pids(const std::string &root, const std::string &id);
// The state of a container that exists; Error("container does not exist") otherwise.
State get(const std::string &root, const std::string &id);

} // namespace koker::oci
