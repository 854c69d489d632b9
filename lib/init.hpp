// SPDX-License-Identifier: MIT
#pragma once
#include "seccomp.hpp"
#include <cstdint>
#include <functional>
#include <sys/types.h>
#include <string>
#include <vector>

// What happens inside a container's new namespaces, between clone(2) and execve(2): the
// overlay root, the kernel filesystems, the masks, pivot_root, the identity, the confinement.
// Runs in the cloned child, single-threaded; never returns.
namespace koker::init {

struct Volume {
  std::string source; // host path (exists)
  std::string target; // absolute path in the container
  bool read_only = false;
};

// The process a container runs: what koker-run's child and koker-exec share.
struct Process {
  std::vector<std::string> argv, env;
  std::string workdir, user; // user as -u takes it, resolved in the container's own files
  uint64_t caps = 0;
  seccomp::Filter filter;
  bool no_new_privileges = false;
  bool die_with_parent = true; // foreground runs: die when koker-run goes
};


struct Spec {
  std::string rootfs;             // a directory to mount the overlay on (in the new namespace)
  std::string layers_dir;         // the store's layers/ (lowerdirs are given relative to it)
  std::vector<std::string> lower; // "<hex>/diff", top layer first
  std::string upper, work;        // the container's own overlay directories
  std::string etc_dir;            // holds hostname, hosts and resolv.conf to bind in
  std::vector<Volume> volumes;
  std::string hostname;
  bool own_uts = true, own_net = true, cgroup_ns = false;
  bool read_only = false, tty = false, interactive = false;
  bool volatile_upper = false; // --rm: the upper layer is never reused
  int output_fd = -1;          // -d without -t: the log file, as the container's stdout and stderr
  Process process;             // the filter is built (or cached) by the parent, loaded by the child
};


// Sets K=V in env, replacing an earlier K.
void set_env(std::vector<std::string> &env, const std::string &kv);
// Applies one -e option: "K=V", or "K" alone for the caller's own value of K (docker's rule;
// nothing when the caller has none).
void apply_env_option(std::vector<std::string> &env, const std::string &option);

// Exit codes the child reports for a failed exec, as docker's (CLI.md).
constexpr int exit_setup = 125, exit_cannot_exec = 126, exit_not_found = 127;

// The child's side. sync_fd: the parent writes 'e' once spec.etc_dir holds the files to bind
// and 'g' once the cgroups and network are ready; after 'g' the child calls on_go (to join its
// cgroups), then confines itself and execs. report_fd (close-on-exec): on failure, the exit
// code as one byte followed by a one-line message; EOF means execve succeeded. console_fd: a
// socket on which the pty master is sent when spec.tty, else -1.
[[noreturn]] void run(const Spec &spec, int sync_fd, int report_fd, int console_fd,
                      const std::function<void()> &on_go);

// In a process already inside the container's namespaces and root: takes the identity from
// the container's /etc/passwd and /etc/group, the working directory, rlimits, close-on-exec
// for every inherited descriptor, seccomp, capabilities, then execs. Reports on report_fd as
// run() does; never returns.
[[noreturn]] void exec_process(const Process &process, int report_fd);

} // namespace koker::init
