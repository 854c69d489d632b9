// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// IPv4 addresses, subnets and published ports as the command line and the lease files write
// them. Addresses are numbers in host order; text goes through inet_pton and inet_ntop.
namespace koker::net {

// A dotted IPv4 address (inet_pton: exactly four decimal parts, no leading zeros); nothing if
// text is not one.
std::optional<uint32_t> parse_ip(std::string_view text);
// "10.69.0.2" for an address in host order (inet_ntop).
std::string ip_string(uint32_t addr);

struct Subnet {
  uint32_t network = 0; // host order
  unsigned prefix = 0;
  uint32_t gateway() const { return network + 1; }
  uint32_t broadcast() const { return network | (prefix ? ~(~uint32_t(0) << (32 - prefix)) : ~0u); }
  std::string str() const;
};
// "10.69.0.0/16" (prefix 8 to 29, host bits zero); throws Error otherwise.
Subnet parse_subnet(std::string_view text);
// A dotted IPv4 address; nothing if text is not one.
std::optional<uint32_t> parse_ip(std::string_view text);

// An IPv6 subnet (a ULA /64 of a network created with --ipv6): its prefix and length; the
// address at offset k is the prefix with k in its low bits.
struct Subnet6 {
  std::array<uint8_t, 16> network{};
  unsigned prefix = 0;
  std::array<uint8_t, 16> at(uint64_t offset) const;
  std::array<uint8_t, 16> gateway() const { return at(1); }
  std::string str() const;
};
// An IPv6 address (inet_pton); nothing if text is not one.
std::optional<std::array<uint8_t, 16>> parse_ip6(std::string_view text);
// "fd00::2" (inet_ntop).
std::string ip6_string(const std::array<uint8_t, 16> &addr);
// "fd12:3456:789a:1::/64" (prefix 48 to 120, host bits zero); throws Error otherwise.
Subnet6 parse_subnet6(std::string_view text);
// True when a and b share addresses.
bool overlaps6(const Subnet6 &a, const Subnet6 &b);
// True when addr lies in s.
bool contains6(const Subnet6 &s, const std::array<uint8_t, 16> &addr);

struct Port {
  std::string host_ip = "0.0.0.0"; // an IPv6 one without its brackets ("::1")
  uint16_t host_port = 0, port = 0;
  std::string proto = "tcp";
  bool v6() const { return host_ip.find(':') != std::string::npos; }
  // Published on every address of the host: 0.0.0.0 (both families on a network with IPv6)
  // or :: (IPv6 only).
  bool any() const { return host_ip == "0.0.0.0" || host_ip == "::"; }
};
// -p's "[IP:]HOSTPORT:PORT[/tcp|udp]" (an IPv6 IP in brackets: "[::1]:8080:80"), or docker's
// "IP:HOSTPORT->PORT/PROTO" as port_string writes it; throws Error for anything else (ranges,
// a missing host port).
Port parse_port(std::string_view spec);
// docker's form, as koker-ps shows it: "0.0.0.0:8080->80/tcp", "[::1]:8080->80/tcp".
std::string port_string(const Port &p);
// Throws Error naming the host port when two of ports publish the same one: a host port and
// protocol is one port file and one DNAT match, whatever the host addresses, so the second
// would meet the first as if another container held it.
void check_distinct_host_ports(const std::vector<Port> &ports);
// A host port free now for proto ("tcp" or "udp"), drawn by the kernel (-P).
uint16_t free_host_port(std::string_view proto);

} // namespace koker::net
