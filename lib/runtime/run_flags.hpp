// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "runtime/caps.hpp"
#include "store/container.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The values of docker run's flags that become a container's OCI config (issue 16 point 4):
// parsed and checked as docker's command line checks them (each parser throws Error naming
// what is wrong; the caller names the flag), then used by runtime/run_spec and create.
namespace koker::run_flags {

// --ulimit NAME=SOFT[:HARD] (go-units' ParseUlimit): docker's names (nofile, nproc, core,
// ...), -1 for unlimited, SOFT <= HARD; no HARD means HARD = SOFT.
using Ulimit = container::Ulimit;
Ulimit parse_ulimit(std::string_view spec);
// "RLIMIT_NOFILE" for nofile: the OCI config's name.
std::string rlimit_name(const Ulimit &u);

// --device HOST[:CONTAINER][:PERMISSIONS] (docker's parseDevice): CONTAINER defaults to HOST,
// PERMISSIONS to "rwm" (any of r, w, m, each once); both paths absolute.
using Device = container::DeviceMapping;
Device parse_device(std::string_view spec);
// A device node as the OCI config names it: the node at a host path (symlinks followed).
struct Node {
  std::string path; // in the container
  char type = 'c';  // 'c' or 'b'
  int64_t major = 0, minor = 0;
  uint32_t mode = 0666, uid = 0, gid = 0;
};
// The node behind d.host, for d.container; Error when it is missing or not a device.
Node device_node(const Device &d);
// --privileged: every char and block device under the host's /dev (as docker's HostDevices),
// but the pty and shm directories, which the container gets its own of.
std::vector<Node> host_devices();

// --add-host HOST:IP (docker's ValidateExtraHost: also HOST=IP, an IPv6 address, or
// "host-gateway"). Returns {host, ip}.
std::pair<std::string, std::string> parse_add_host(std::string_view spec);
// --dns: an IPv4 or IPv6 address; --dns-search: a domain name, or "." for none.
void check_dns(std::string_view ip);
void check_dns_search(std::string_view domain);

// --sysctl K=V: only the sysctls a container's own namespaces hold, as docker allows them
// (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*); net.* not with the host's
// network. Returns {K, V}.
std::pair<std::string, std::string> parse_sysctl(std::string_view spec, bool host_network);

// --stop-timeout: seconds, 0 to 86400 (koker-stop's -t range).
int parse_stop_timeout(std::string_view text);

// A seccomp profile in docker's JSON format (moby profiles/seccomp: defaultAction,
// defaultErrnoRet, architectures or archMap, flags, syscalls with names, action, errnoRet,
// args, includes and excludes by arch, capability and minimum kernel) as the OCI config's
// linux.seccomp, for a container whose bounding set is caps, on this host's architecture and
// kernel: what moby's setupSeccomp hands runc. what names the file in messages.
json::Value seccomp_from_docker(std::string_view text, caps::Set caps, std::string_view what);

} // namespace koker::run_flags
