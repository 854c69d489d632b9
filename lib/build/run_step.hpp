// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <vector>

// RUN: the command in a container of the step's image, as docker's classic builder does it:
// koker-run (the same tool, flags and defaults a user's container gets: namespaces, seccomp,
// capabilities, cgroup, the network the build chose) with the image's entrypoint cleared, the
// build args in its environment, stdin empty and its output on the builder's stderr. The
// container is kept until its changes are taken (runtime/container_diff), then removed. It is
// labelled with the builder's PID and start time, so that one a killed build left behind is
// removed by the next build (remove_stale).
namespace koker::build_run {

constexpr const char LABEL[] = "org.koker.build";

struct Request {
  std::string root;     // the store
  std::string image_id; // the step's parent image
  std::string name;     // the container's name
  std::vector<std::string> argv;
  std::vector<std::string> env; // K=V: build args
  std::string network;          // none, bridge or host
  bool quiet = false;           // -q: the command's output is not shown
};

// Runs the container to its end and returns the command's exit code (koker-run's: 125 and
// up for its own failures, said on stderr). The container exists afterwards, stopped.
int run(const Request &r);

// Removes the containers of builds whose process is gone.
void remove_stale(const std::string &root);

} // namespace koker::build_run
