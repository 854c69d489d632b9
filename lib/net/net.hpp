// SPDX-License-Identifier: MIT
#pragma once
#include "net/address.hpp"
#include "store/container.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Bridge networking: koker-net does it (koker-run runs "koker-net attach", net/attach.hpp),
// and every tool that releases a container's address uses the netlink-free half (net.cpp):
// a bridge with the subnet's gateway address, NAT and forwarding made once (iptables), then
// per container a veth pair made over rtnetlink whose far end becomes eth0 in the container's
// network namespace, an address from a CNI host-local style pool and DNAT rules for its
// published ports. State lives in the kernel and in the store:
//   the bridge's alias   "koker subnet=S forward=F root=R": made by koker, on S, the
//                        ip_forward value to restore on down, the store that owns it
//   net/<bridge>/lock    flock serialising reservations and releases
//   net/<bridge>/<ip>    one O_EXCL file per address: container ID, host veth, the reserving
//                        process ("pid starttime"), then its published ports
//   net/<bridge>/ports/<proto>-<hostport>   one O_EXCL file per published host port
// iptables rules carry "-m comment --comment koker" (the bridge's) or "koker:<id>".
namespace koker::net {

// The network a tool works on: KOKER_BRIDGE (default koker0) on KOKER_SUBNET (default
// 10.69.0.0/16) in the store root.
struct Network {
  std::string root, bridge;
  Subnet subnet;
  // A user-defined network's choices (net/network.hpp); zero: the subnet's first address as
  // the gateway, the whole subnet for containers, a route out.
  uint32_t gateway = 0, range_first = 0, range_last = 0;
  bool internal = false;
  // An IPv6 subnet as well (network create --ipv6, or the default bridge's opt-in): a
  // container's address there is the one at its IPv4 address's offset in subnet (ip6_of)
  // unless --ip6 chose another; the IPv4 lease records both.
  std::optional<Subnet6> subnet6;
  std::string dir() const { return root + "/net/" + bridge; }
  std::string chain() const { return "KOKER-" + bridge; }
  uint32_t gw() const { return gateway ? gateway : subnet.gateway(); }
};
// The IPv6 address going with IPv4 address ip4 on n; empty when n has no IPv6 subnet.
std::string ip6_of(const Network &n, const std::string &ip4);

// From the environment (and the default bridge's IPv6 setting, bridge_ipv6_path); throws
// Error for a bad bridge name or subnet.
Network from_env(const std::string &root);
// The file that turns IPv6 on for the default bridge KOKER_BRIDGE of the store (koker-net up
// --ipv6): it holds the bridge's IPv6 subnet. No file: IPv4 only.
std::string bridge_ipv6_path(const std::string &root, const std::string &bridge);

// A container's place on the bridge.
struct Lease {
  std::string id, ip, veth;
  std::string ip6; // on a network with IPv6
  std::vector<Port> ports;
};

// Makes what is missing of the bridge, its address, route_localnet, ip_forward and the
// bridge's iptables rules, under a host-wide lock; a bridge made meanwhile by another run is
// fine. Refuses a bridge on another subnet or in use by another store.
void up(const Network &n);
// The cheap check koker-run makes first (one netlink request), then up() only if needed;
// then reserves an address, a veth name and the host ports for container id under the
// network's lock. Throws when the subnet is full or a port is taken, leaving nothing.
// want_ip, when given, is the only address to take (--ip): an Error if another holds it or
// it lies outside the subnet. want_ip6 likewise for the IPv6 address (--ip6); without it the
// address at the IPv4 one's offset, an IPv4 address being skipped when another container's
// --ip6 holds that one. veths_taken: host-end names reserved on other networks for the same
// container and not made yet.
Lease reserve(const Network &n, std::string_view id, const std::vector<Port> &ports,
              std::string_view want_ip = {}, std::string_view want_ip6 = {},
              const std::vector<std::string> &veths_taken = {});
// The network namespace of process pid, opened (O_RDONLY): an Error naming it if it is gone.
Fd open_namespace(int pid);
// Plugs the container whose network namespace is the fd netns: the veth pair (eth0 inside,
// up, with the address and a default route via the gateway) and DNAT rules for the ports.
// The rest of the container's network set-up (lo up, ping_group_range) is its init's
// (runtime/oci_init.hpp) or, made ahead, its maker's (net/namespace.hpp). ifname is the
// interface's name inside (eth0, eth1 for a second network). Refuses the host's namespace.
void connect(const Network &n, const Lease &l, int netns, const std::string &ifname = "eth0");
// Undoes reserve: the rules, the port files, the address file (the veth: delete_veth). Safe
// to repeat; reports failures as warnings, never throws.
void release(const Network &n, const Lease &l);
// release() for what container rec holds on any bridge of its store (lifecycle's clean-up).
// The veth is left to the kernel, which removes it with the namespace when the container's
// last process ends; koker-net detach takes a running container's away first (unplug).
void release_container(const std::string &root, const container::Record &rec);
// The leases container rec holds, each with the network (bridge) it is on.
std::vector<std::pair<Network, Lease>> container_leases(const std::string &root,
                                                        const container::Record &rec);
// Deletes the host end of a veth pair (and so both ends); a missing one is fine.
void delete_veth(const std::string &name);
// delete_veth() for every lease of rec: off the bridge while it still runs.
void unplug(const std::string &root, const container::Record &rec);

// The lease container id holds on n, if any.
std::optional<Lease> lease_on(const Network &n, std::string_view id);
// The first of eth0, eth1, ... that the network namespace of process pid has not.
std::string free_ifname(int pid);

// The leases on the network, as recorded.
std::vector<Lease> leases(const Network &n);
// Releases leases, veths and rules of containers that no longer run or exist, on every
// network of the store. Returns the IDs released.
std::vector<std::string> gc(const std::string &root);
// Removes the bridge, its rules and restores ip_forward when no container uses them (after
// gc); throws Error naming them otherwise. Nothing to remove is fine.
void down(const Network &n);

} // namespace koker::net
