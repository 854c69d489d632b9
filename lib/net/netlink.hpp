// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

// rtnetlink over libmnl: the few requests koker-net makes (ip-link, ip-addr, ip-route), each
// logged at debug level in ip(8) terms before it is sent. IPv4 addresses are in host order.
namespace koker::netlink {

struct Link {
  int index = 0;
  std::string name, kind, alias; // kind: IFLA_INFO_KIND ("bridge", "veth"), empty if none
  int master = 0;                // the bridge it is a port of, 0 if none
};

// A NETLINK_ROUTE socket bound in the network namespace current at its creation.
class Socket {
public:
  Socket();
  // Opens the socket inside the network namespace netns_fd (setns there and back): requests
  // on it then act on that namespace.
  explicit Socket(int netns_fd);
  Socket(const Socket &) = delete;
  Socket &operator=(const Socket &) = delete;
  ~Socket();

  // Sends one request with NLM_F_ACK and reads to its end; each reply message goes to
  // on_reply. Returns 0, or the kernel's negative errno (never throws for it).
  int request(nlmsghdr *msg, void (*on_reply)(const nlmsghdr *, void *) = nullptr,
              void *data = nullptr);

private:
  void open();
  mnl_socket *m_nl = nullptr;
  unsigned m_portid = 0;
  unsigned m_seq = 0;
};

// The link called name; nothing when there is none.
std::optional<Link> get_link(Socket &s, std::string_view name);
// Every link of the namespace.
std::vector<Link> list_links(Socket &s);
// ip link add NAME type bridge; false when it exists already (another run made it).
bool add_bridge(Socket &s, std::string_view name);
// ip link add HOST master M up type veth peer name PEER netns FD: the peer is made inside
// the namespace peer_netns_fd at once (down). False when HOST exists already.
// mac, when given, is the peer's address (6 bytes).
bool add_veth(Socket &s, std::string_view host, const Link &master, std::string_view peer,
              int peer_netns_fd, const uint8_t *mac = nullptr);
// ip link del NAME; false when there is none.
bool delete_link(Socket &s, std::string_view name);
// ip link set NAME up
void set_up(Socket &s, std::string_view name);
// ip link set dev DEV addrgenmode none: DEV gets no IPv6 link-local address, so it sends no
// IPv6 packet of its own (no duplicate-address probe, MLD report or router solicitation).
// Nothing when the kernel has no IPv6.
void set_addrgenmode_none(Socket &s, const Link &dev);
// ip link set dev DEV alias TEXT
void set_alias(Socket &s, const Link &dev, std::string_view alias);
// ip addr add ADDR/PREFIX dev DEV; an address already there is fine.
void add_address(Socket &s, const Link &dev, uint32_t addr, unsigned prefix);
// ip route add default via GATEWAY
void add_default_route(Socket &s, uint32_t gateway);
// ip -6 addr add ADDR/PREFIX dev DEV nodad: usable at once (no duplicate address detection:
// koker's leases make it unique); an address already there is fine.
void add_address6(Socket &s, const Link &dev, const std::array<uint8_t, 16> &addr, unsigned prefix);
// ip -6 route add default via GATEWAY dev DEV
void add_default_route6(Socket &s, const Link &dev, const std::array<uint8_t, 16> &gateway);

} // namespace koker::netlink
