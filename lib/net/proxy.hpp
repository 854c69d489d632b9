// SPDX-License-Identifier: MIT
#pragma once
#include "net/net.hpp"
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// Published ports on [::1]. IPv6 has no route_localnet: a packet from ::1 DNATed to a
// container is dropped as martian, so (as docker's docker-proxy) a process of koker's own
// listens on [::1]:HOSTPORT and copies each connection to and from the container. One per
// container, started by koker-net attach with the container ("koker-net proxy", in a session
// of its own, in init's mount namespace), ending by itself when the container's first process
// does (a pidfd), and killed by release() (stop, rm, gc, network prune, the next start's
// take-over of the port). Its files in net/<bridge>/: proxy-<id> ("pid starttime", written by
// the proxy before it reports ready) and proxy-<id>.log (its messages; -D traces connections).
// TCP only: UDP on [::1] is not proxied.
namespace koker::net {

// The ports of l that the proxy serves on [::1]: TCP on 0.0.0.0 when the container has an
// IPv6 address, on :: and on ::1.
std::vector<Port> loopback6_ports(const Lease &l);
// Starts the proxy for l's loopback6_ports, if any, toward the container's IPv6 address (its
// IPv4 one without): the listening sockets are bound here, so a port in use on ::1 is an Error
// of attach; then it waits until the proxy has recorded itself. container_pid: the
// container's first process, whose end ends the proxy.
void start_proxy(const Network &n, const Lease &l, int container_pid);
// Kills container id's proxy on n (and its connections) if it runs, waits for its end so the
// port is free again, and removes its record. Never throws.
void stop_proxy(const Network &n, const std::string &id);
// The containers with a proxy record on n.
std::vector<std::string> proxy_ids(const Network &n);

// koker-net proxy's body: serves listeners (socket, container port) toward target until the
// process container_pid ends; writes "pid starttime" to record and a byte to ready_fd first.
void serve_proxy(const std::string &record, int container_pid, const std::string &target,
                 const std::vector<std::pair<int, uint16_t>> &listeners, int ready_fd);

} // namespace koker::net
