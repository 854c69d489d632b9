// SPDX-License-Identifier: MIT
#pragma once
// koker-run's command line and how it becomes a container record and an init::Spec. Kept
// beside the tool (src/) because no other tool parses these options.
#include "cgroup.hpp"
#include "container.hpp"
#include "image.hpp"
#include "init.hpp"
#include "store.hpp"
#include <string>
#include <vector>

namespace koker::run {

extern const char USAGE[];

struct Options {
  std::string image; // reference, ID, prefix, or "-"
  std::vector<std::string> command;
  bool detach = false, auto_remove = false, interactive = false, tty = false;
  bool read_only = false, no_new_privileges = false;
  bool has_entrypoint = false;
  std::string name, hostname, workdir, user, entrypoint, network = "bridge", cidfile;
  std::vector<std::string> env, volumes, publish, cap_add, cap_drop;
  std::string memory, mem_mib, swap_mib, cpus, pids; // checked when limits are applied
};

// Parses and checks every option (bwrap: all checks before any change to the host).
Options parse(int argc, char **argv);
// The image named on the command line: looked up in the store, "-" read from stdin, a
// reference not in the store pulled with koker-pull first.
store::ImageRecord resolve_image(const store::Store &store, const std::string &name);
// The resource limits the options ask for (checked: 125 on a bad value).
cgroup::Limits parse_limits(const Options &o);
// The record: the image config overlaid with the options.
container::Record make_record(const Options &o, const store::ImageRecord &img,
                              const image::Config &cfg, const cgroup::Limits &limits);
// What the child needs to build the container.
init::Spec make_spec(const Options &o, const container::Record &rec, const store::Store &store,
                     const store::ImageRecord &img, const std::string &dir);
// The host's resolv.conf, or systemd-resolved's real one when the host's only names the
// 127.0.0.53 stub (unreachable from the container's network namespace).
std::string host_resolv_conf();
// koker-net attach ID PID [-p ...]: the bridge (made if missing), the veth pair, the address
// and the port rules are koker-net's, so that koker-run links no netlink library and can be a
// static binary. Returns the address; a failure throws koker-net's own one-line message.
std::string attach_to_bridge(const container::Record &rec, pid_t pid);
// "NEWNS|NEWPID|..." for the trace.
std::string clone_flags_string(unsigned long flags);

} // namespace koker::run
