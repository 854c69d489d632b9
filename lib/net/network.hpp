// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "base/sys.hpp"
#include "net/net.hpp"
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// User-defined networks (docker network create): one record per network,
// KOKER_ROOT/networks/<name>.json, written atomically under locks/networks.lock. Each is a
// bridge of its own, served by the bridge code of net.hpp (leases in net/<bridge>/), made at
// create as docker makes it, removed with the network. The default network "bridge" has no
// record: it is KOKER_BRIDGE on KOKER_SUBNET (net::from_env), unchanged.
namespace koker::net {

struct NetworkRecord {
  std::string name, id, created, bridge, subnet, gateway, ip_range;
  std::string subnet6, gateway6; // --ipv6: empty without
  bool internal = false;
  std::map<std::string, std::string> labels, options;
};

// docker's network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; throws Error otherwise.
void check_network_name(std::string_view name);
// The networks of the store, by name.
std::vector<NetworkRecord> list_networks(const std::string &root);
// The network called name, or whose ID is or starts with name (docker's lookup); nothing if
// none.
std::optional<NetworkRecord> find_network(const std::string &root, std::string_view name);
// The bridge network the record describes, ready for up/reserve/down.
Network network_of(const std::string &root, const NetworkRecord &r);

// Writes the record atomically (the caller holds the lock).
void write_network_record(const std::string &root, const NetworkRecord &r);
// Serialises changes to the networks of the store.
sys::FileLock lock_networks(const std::string &root);
// True while a container on n may still use its address there.
bool network_in_use(const Network &n);

struct CreateRequest {
  std::string name, subnet, gateway, ip_range, bridge;
  std::string subnet6; // --subnet with an IPv6 CIDR
  bool ipv6 = false, internal = false;
  std::map<std::string, std::string> labels, options;
};
// Records the network and makes its bridge (under the lock; a failure leaves neither). A
// subnet not given comes from the pool KOKER_NETWORK_POOL (default 172.16.0.0/12) in
// networks of KOKER_NETWORK_POOL_SIZE bits (default 16), avoiding every route and address of
// the host and every other network. With ipv6, a /64 of subnet6 or, when none is given, of
// the host's ULA /48 (KOKER_NETWORK_POOL6, else one drawn at random once and kept in
// KOKER_ROOT/networks/.pool6) that no route of the host and no other network uses.
NetworkRecord create_network(const std::string &root, const CreateRequest &req);
// The default bridge's IPv6 opt-in (koker-net up --ipv6[=false] [--subnet V6CIDR]): records
// it in bridge_ipv6_path (the subnet given, the one recorded, else a free /64 of the pool as
// network create --ipv6 picks) or removes it, then brings the bridge up as it now is. A change
// while containers use the bridge is refused; without one the bridge is remade.
void set_bridge_ipv6(const Network &n, bool on, const std::string &subnet6);
// Removes the network's bridge, rules and record; docker's "has active endpoints" error
// while a container uses it.
void remove_network(const std::string &root, const NetworkRecord &r);
// docker network inspect's object for the network (the default one when r is null).
json::Value network_json(const std::string &root, const NetworkRecord *r);
// The default network's inspect object.
json::Value default_network_json(const std::string &root);

} // namespace koker::net
