// SPDX-License-Identifier: MIT
#include "net/address.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <vector>

namespace koker::net {

std::string ip_string(uint32_t addr) {
  struct in_addr a = {htonl(addr)};
  char text[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, text, sizeof text) ? text : "?";
}

std::string Subnet::str() const { return cat(ip_string(network), "/", prefix); }

std::optional<uint32_t> parse_ip(std::string_view text) {
  std::string s(text); // inet_pton wants a terminated string
  struct in_addr a;
  if (s.size() > 15 || ::inet_pton(AF_INET, s.c_str(), &a) != 1)
    return std::nullopt;
  return ntohl(a.s_addr);
}

Subnet parse_subnet(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = parse_ip(text.substr(0, slash));
  auto prefix =
      slash == std::string_view::npos ? std::nullopt : sys::parse_uint(text.substr(slash + 1));
  if (!addr || !prefix)
    fail("invalid subnet ", printable(text), " (want an IPv4 CIDR such as 10.69.0.0/16)");
  // /29 is the smallest with room for a container: network, gateway, broadcast and 5 more.
  if (*prefix < 8 || *prefix > 29)
    fail("invalid subnet ", printable(text), ": the prefix must be from /8 to /29");
  Subnet s{*addr, static_cast<unsigned>(*prefix)};
  if (s.network & ~(~uint32_t(0) << (32 - s.prefix)))
    fail("invalid subnet ", printable(text), ": host bits are set (did you mean ",
         Subnet{*addr & (~uint32_t(0) << (32 - s.prefix)), s.prefix}.str(), "?)");
  return s;
}

std::array<uint8_t, 16> Subnet6::at(uint64_t offset) const {
  std::array<uint8_t, 16> a = network;
  for (int i = 15; i >= 8 && offset; --i, offset >>= 8)
    a[static_cast<size_t>(i)] |= static_cast<uint8_t>(offset & 0xff);
  return a;
}

std::string Subnet6::str() const { return cat(ip6_string(network), "/", prefix); }

std::optional<std::array<uint8_t, 16>> parse_ip6(std::string_view text) {
  std::string s(text);
  std::array<uint8_t, 16> a;
  if (s.size() > 45 || ::inet_pton(AF_INET6, s.c_str(), a.data()) != 1)
    return std::nullopt;
  return a;
}

std::string ip6_string(const std::array<uint8_t, 16> &addr) {
  char text[INET6_ADDRSTRLEN];
  return ::inet_ntop(AF_INET6, addr.data(), text, sizeof text) ? text : "?";
}

namespace {
bool same_prefix(const std::array<uint8_t, 16> &a, const std::array<uint8_t, 16> &b,
                 unsigned prefix) {
  for (unsigned bit = 0; bit < prefix; ++bit)
    if (((a[bit / 8] ^ b[bit / 8]) >> (7 - bit % 8)) & 1)
      return false;
  return true;
}
} // namespace

Subnet6 parse_subnet6(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = parse_ip6(text.substr(0, slash));
  auto prefix =
      slash == std::string_view::npos ? std::nullopt : sys::parse_uint(text.substr(slash + 1));
  if (!addr || !prefix)
    fail("invalid subnet ", printable(text), " (want an IPv6 CIDR such as fd00:1:2:3::/64)");
  if (*prefix < 48 || *prefix > 120)
    fail("invalid subnet ", printable(text), ": the prefix must be from /48 to /120");
  Subnet6 s{*addr, static_cast<unsigned>(*prefix)};
  std::array<uint8_t, 16> masked{};
  for (unsigned bit = 0; bit < s.prefix; ++bit)
    masked[bit / 8] |= static_cast<uint8_t>(s.network[bit / 8] & (0x80 >> (bit % 8)));
  if (masked != s.network)
    fail("invalid subnet ", printable(text), ": host bits are set (did you mean ",
         Subnet6{masked, s.prefix}.str(), "?)");
  return s;
}

bool overlaps6(const Subnet6 &a, const Subnet6 &b) {
  return same_prefix(a.network, b.network, std::min(a.prefix, b.prefix));
}

bool contains6(const Subnet6 &s, const std::array<uint8_t, 16> &addr) {
  return same_prefix(s.network, addr, s.prefix);
}

Port parse_port(std::string_view spec) {
  auto bad = [&](std::string_view why) -> Port {
    fail("invalid port mapping ", printable(spec), ": ", why,
         " (want [IP:]HOSTPORT:PORT[/tcp|udp])");
  };
  Port p;
  std::string_view rest = spec;
  size_t slash = rest.rfind('/');
  if (slash != std::string_view::npos) {
    p.proto = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (p.proto != "tcp" && p.proto != "udp")
      return bad("the protocol must be tcp or udp");
  }
  // An IPv6 host address comes first, in brackets (docker's form).
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("an IPv6 host address goes in brackets: [::1]:8080:80");
    auto addr = parse_ip6(rest.substr(1, close - 1));
    if (!addr)
      return bad("the host address is not an IPv6 address");
    p.host_ip = ip6_string(*addr);
    rest = rest.substr(close + 2);
  }
  std::vector<std::string> parts;
  size_t arrow = rest.find("->");
  if (arrow != std::string_view::npos) { // docker's display form
    parts = text::split(rest.substr(0, arrow), ':');
    parts.emplace_back(rest.substr(arrow + 2));
  } else {
    parts = text::split(rest, ':');
  }
  if (parts.size() == 1)
    return bad("koker needs a host port");
  if (parts.size() > 3 || rest.find('[') != std::string_view::npos)
    return bad("an IPv6 host address goes in brackets: [::1]:8080:80");
  if (parts.size() != 2 && p.v6())
    return bad("want [IPV6]:HOSTPORT:PORT");
  if (parts.size() == 3) {
    if (!parse_ip(parts[0]))
      return bad("the host address is not an IPv4 address");
    p.host_ip = parts[0];
  }
  auto number = [&](const std::string &s) -> uint16_t {
    auto v = sys::parse_uint(s);
    if (!v || *v == 0 || *v > 65535)
      bad(cat(printable(s), " is not a port number (1-65535; ranges are not supported)"));
    return static_cast<uint16_t>(*v);
  };
  p.host_port = number(parts[parts.size() - 2]);
  p.port = number(parts.back());
  return p;
}

std::string port_string(const Port &p) {
  if (p.v6())
    return cat("[", p.host_ip, "]:", p.host_port, "->", p.port, "/", p.proto);
  return cat(p.host_ip, ":", p.host_port, "->", p.port, "/", p.proto);
}

void check_distinct_host_ports(const std::vector<Port> &ports) {
  for (size_t i = 0; i < ports.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (ports[j].host_port == ports[i].host_port && ports[j].proto == ports[i].proto)
        fail("port ", ports[i].host_port, "/", ports[i].proto, " is published twice: ",
             port_string(ports[j]), " and ", port_string(ports[i]));
}

uint16_t free_host_port(std::string_view proto) {
  // The kernel's choice, from ip_local_port_range as docker's allocator draws: a socket bound
  // to port 0, read back, then closed. The port files of net/ catch a race with another
  // container; a race with another program shows as a bind error of that program.
  Fd s(::socket(AF_INET, (proto == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  if (!s)
    sys_fail("unable to open a ", proto, " socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  log::debug("bind(0.0.0.0:0/", proto, ") to draw a free host port");
  socklen_t len = sizeof a;
  if (::bind(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr *>(&a), &len) < 0)
    sys_fail("unable to find a free ", proto, " port");
  return ntohs(a.sin_port);
}

} // namespace koker::net
