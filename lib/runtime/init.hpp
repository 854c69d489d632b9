// SPDX-License-Identifier: MIT
#pragma once
#include "runtime/process.hpp"
#include "runtime/rootfs.hpp"
#include <functional>
#include <string>
#include <vector>

// What a container's first process does between clone(2) and execve(2), in its new
// namespaces: the root (runtime/rootfs.hpp), pivot_root, the host name, its own network's
// loopback, the console or stdin, then the confinement and the command
// (runtime/process.hpp). Runs in the cloned child, single-threaded; never returns.
namespace koker::init {

struct Spec {
  rootfs::Overlay overlay;
  std::string etc_dir; // holds hostname, hosts and resolv.conf to bind in
  std::vector<rootfs::Volume> volumes;
  std::string hostname;
  bool own_uts = true, own_net = true;
  bool read_only = false, tty = false, interactive = false;
  int output_fd = -1; // -d without -t: the log file, as the container's stdout and stderr
  process::Process process; // the filter is built (or cached) by the parent, loaded here
};

// The child's side. sync_fd: the parent writes 'e' once spec.etc_dir holds the files to bind
// and 'g' once the cgroups and network are ready; after 'g' the child calls on_go (to join its
// cgroups), then confines itself and execs. report_fd (close-on-exec) carries a start report
// (runtime/start_report.hpp). console_fd: a socket on which the pty master is sent when
// spec.tty (runc's console socket), else -1.
[[noreturn]] void run(const Spec &spec, int sync_fd, int report_fd, int console_fd,
                      const std::function<void()> &on_go);

} // namespace koker::init
