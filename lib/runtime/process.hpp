// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/seccomp.hpp"
#include <cstdint>
#include <string>
#include <vector>

// The last steps of a koker-exec command (the container's first process takes the same
// settings from its config.json, runtime/oci_init.hpp): inside the container's namespaces and
// root, take the identity from the container's own /etc/passwd and /etc/group, the working
// directory, rlimits, close-on-exec for every inherited descriptor, no_new_privs, seccomp,
// capabilities, then execve.
namespace koker::process {

struct Process {
  std::vector<std::string> argv, env;
  std::string workdir, user; // user as -u takes it, resolved in the container's own files
  uint64_t caps = 0;
  seccomp::Filter filter;
  bool no_new_privileges = false;
  bool die_with_parent = true; // foreground runs: die when koker-run goes
};

// Exit codes for a failed start, as docker's (docs/cli.md "Exit codes").
constexpr int exit_setup = 125, exit_cannot_exec = 126, exit_not_found = 127;

// Sets K=V in env, replacing an earlier K.
void set_env(std::vector<std::string> &env, const std::string &kv);
// Applies one -e option: "K=V", or "K" alone for the caller's own value of K (docker's rule;
// nothing when the caller has none).
void apply_env_option(std::vector<std::string> &env, const std::string &option);

// execvp's search for argv[0] over env's PATH, then execve; a failure goes to report_fd as a
// start report (127 not found, else 126), or to stderr when report_fd is -1, and the process
// exits with that code. Never returns.
[[noreturn]] void exec_command(const std::vector<std::string> &argv,
                               const std::vector<std::string> &env, int report_fd);
// Every signal back to its default action, as a command expects to start (execve keeps
// ignored ones), and none blocked.
void reset_signals();

// Confines this process as p says and execs p.argv. A failure goes to report_fd as a start
// report (runtime/start_report.hpp): 125 for the set-up, 126 or 127 for the exec. Never
// returns.
[[noreturn]] void exec(const Process &p, int report_fd);

} // namespace koker::process
