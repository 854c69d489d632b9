// SPDX-License-Identifier: MIT
#pragma once
#include "net/network.hpp"
#include <cstdint>
#include <string>
#include <vector>

// A user-defined network's resolver, as podman's aardvark-dns: one process per network
// ("koker-net dns NETWORK"), listening on UDP port 53 of the network's gateway, started by
// the first container's attach (ensure_resolver) and ending on its own once no container uses
// the network (checked each second). It keeps no table: each query is answered from the
// store as it is then (the leases of net/<bridge>/ and the containers' records), so a
// container started later is found at once and a changed address is answered as it is.
// Its files in net/<bridge>/: dns.lock (held while it runs), dns.pid ("pid starttime"),
// dns.log (its messages).
namespace koker::net {

// Serves r's resolver until no container uses the network; writes a byte to ready_fd (if not
// -1) once it answers. Returns at once when another resolver of r holds the address.
void serve_resolver(const std::string &root, const NetworkRecord &r, int ready_fd);
// Starts r's resolver unless it runs, and waits until it answers; a resolver that cannot
// start is a warning (the container runs without name resolution), never an Error.
void ensure_resolver(const std::string &root, const NetworkRecord &r);
// Stops the resolver of n, if it runs (network rm), and waits for its end.
void stop_resolver(const Network &n);
// The addresses name has for a query from source (host order) on network r: the containers
// called name (or by an alias, or their short ID) on the networks the querying container is
// on, r's first; on r alone when no container of r sends it. Empty: not a name of the table.
std::vector<uint32_t> resolve_name(const std::string &root, const NetworkRecord &r, uint32_t source,
                                   const std::string &name);

} // namespace koker::net
