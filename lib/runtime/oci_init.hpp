// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/oci_spec.hpp"
#include "runtime/oci_state.hpp"
#include "runtime/seccomp.hpp"
#include <functional>
#include <string>

// What koker-oci's container init does between clone(2) and execve(2), from an OCI config:
// become root of a new user namespace once koker-oci has written its id maps, join the
// namespaces given by path, the root (bound onto itself), the config's mounts in order, the
// default devices, sysctls, masked and read-only paths, the console, the create hooks,
// pivot_root, then the process: rlimits, oom_score_adj, user, capabilities, no_new_privs,
// seccomp last; after start, the startContainer hooks.
// koker-run's containers take the same steps: it writes their config.json from the image and
// its flags (runtime/run_spec.hpp) and adds what its own command line needs below.
namespace koker::oci {

struct InitOptions {
  std::string rootfs;         // absolute
  // koker's own containers, as root: mounts the container's root on rootfs, in the init's new
  // mount namespace once "/" there is a slave of the host's, so that the host never has it
  // (koker-oci's callers mount their bundle's root themselves).
  std::function<void()> mount_root;
  int report_fd = -1;         // start report (runtime/start_report.hpp): ready, or why not
  int sync_fd = -1;           // the parent writes 'c' once the cgroups are ready, 'g' once
                              // the rest is ('u' before, once it mapped a new user
                              // namespace; 'r' after, once it ran the prestart and
                              // createRuntime hooks)
  int fifo_fd = -1;           // an O_PATH fd of exec.fifo; -1: exec at once (no create/start)
  std::string console_socket; // a unix socket to send the pty master to (process.terminal)
  int console_fd = -1;        // or a connected one (koker-run's socketpair), which acknowledges
                              // with a byte once it has sized the pty
  bool no_pivot = false;
  int preserve_fds = 0;       // fds 3 .. 2+N pass into the container
  int net_namespace = -1;     // a network namespace made ahead, joined instead of a new one
                              // (launch::Request::net_namespace)
  seccomp::Filter filter;     // built by the parent from spec.seccomp (empty: none)
  std::function<void()> on_go; // after 'c': join the cgroups
  // koker-run's: stdin from the container's /dev/null (no -i), stdout and stderr to output_fd
  // (-d: the log), death with koker-run (foreground), and exec failures reported on
  // report_fd with docker's codes instead of a ready report (no create/start split).
  bool stdin_null = false;
  int stdin_fd = -1; // or this fd (the -d -i supervisor's pipe) as stdin
  int output_fd = -1;
  bool die_with_parent = false;
  bool report_exec = false;
  // With prestart or createRuntime hooks: the init writes one byte here once its mounts are
  // done and its cgroups joined; koker-oci runs them, then sends 'r' (runtime/oci_hooks.hpp).
  int hooks_fd = -1;
  State state; // what the hooks the init runs get on stdin (the pid is the init's own)
};

// The child's side; never returns. Until ready it reports failures on report_fd; after it
// (waiting on exec.fifo, then exec) on stderr, as runc's init does.
[[noreturn]] void run_init(const Spec &spec, const InitOptions &o);

// The clone flags for the namespaces spec asks to be new (those with a path are joined by
// the child).
unsigned long clone_flags(const Spec &spec);

} // namespace koker::oci
