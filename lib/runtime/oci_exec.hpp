// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// koker-oci exec: a new process in a created, running (or, if asked, paused) container, as
// `runc exec` runs one for podman (through conmon) and containerd's runc shim. The process
// joins every namespace of the container's init (setns on a pidfd checked against the init's
// start time) and its cgroup, takes its rlimits, user, five capability sets, no_new_privs and
// the container's seccomp filter (loaded last), and is forked by koker-oci itself, so that with
// --detach it is the caller's grandchild and its subreaper's once koker-oci exits.
namespace koker::oci {

struct ExecOptions {
  std::string root, id;
  std::string process_file;      // --process: a process.json; the flags below then do not apply
  std::vector<std::string> args; // the command, without --process
  std::vector<std::string> env;  // K=V, set over the config's
  std::string cwd, user;         // user: UID[:GID]
  std::vector<std::string> caps; // added to bounding, effective, permitted (and ambient)
  std::vector<uint32_t> additional_gids;
  std::optional<bool> tty;
  bool no_new_privs = false;
  bool detach = false, ignore_paused = false;
  std::string console_socket, pid_file;
  int preserve_fds = 0; // fds 3 .. 2+N pass into the process
};

// Runs the process. With detach, returns 0 once it has exec'd; else waits (forwarding
// signals, relaying a pty made without --console-socket) and returns its status, 128+N when
// killed by signal N. The pid file gets its pid once it runs. Throws Error in runc's wording
// ("container does not exist", "cannot exec in a stopped container", and "unable to start
// container process: exec: \"X\": executable file not found in $PATH" for a missing command).
int exec(const ExecOptions &o);

} // namespace koker::oci
