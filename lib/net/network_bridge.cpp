// SPDX-License-Identifier: MIT
// User-defined networks, the netlink side: choosing a subnet the host does not use, making
// and removing a network's bridge with its record.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/detail.hpp"
#include "net/netlink.hpp"
#include "net/network.hpp"
#include "net/resolver.hpp"
#include <arpa/inet.h>
#include <cstdlib>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

namespace koker::net {

namespace {

bool overlaps(const Subnet &a, const Subnet &b) {
  unsigned prefix = std::min(a.prefix, b.prefix);
  uint32_t mask = prefix ? ~uint32_t(0) << (32 - prefix) : 0;
  return (a.network & mask) == (b.network & mask);
}

// What the host uses: its IPv4 routes (but the default one) and its addresses' subnets.
std::vector<Subnet> host_subnets() {
  std::vector<Subnet> used;
  auto add = [&](uint32_t addr, uint32_t mask) {
    unsigned prefix = static_cast<unsigned>(__builtin_popcount(mask));
    if (prefix == 0)
      return;
    uint32_t m = ~uint32_t(0) << (32 - prefix);
    used.push_back(Subnet{addr & m, prefix});
  };
  log::debug("read /proc/net/route (the host's routes)");
  if (auto routes = sys::read_file_if_exists("/proc/net/route", 1 << 20))
    for (const auto &line : text::split(*routes, '\n')) {
      auto w = text::split(line, '\t');
      if (w.size() < 8 || w[0] == "Iface")
        continue;
      // Hexadecimal of the address as it lies in memory: network order.
      uint32_t dest = ntohl(static_cast<uint32_t>(std::strtoul(w[1].c_str(), nullptr, 16)));
      uint32_t mask = ntohl(static_cast<uint32_t>(std::strtoul(w[7].c_str(), nullptr, 16)));
      add(dest, mask);
    }
  ifaddrs *list = nullptr;
  log::debug("getifaddrs (the host's addresses)");
  if (::getifaddrs(&list) == 0) {
    for (ifaddrs *i = list; i; i = i->ifa_next)
      if (i->ifa_addr && i->ifa_netmask && i->ifa_addr->sa_family == AF_INET)
        add(ntohl(reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr.s_addr),
            ntohl(reinterpret_cast<sockaddr_in *>(i->ifa_netmask)->sin_addr.s_addr));
    ::freeifaddrs(list);
  }
  return used;
}

// Every subnet a new network must not overlap: the host's, the store's networks', the
// default bridge's.
std::vector<Subnet> taken_subnets(const std::string &root) {
  std::vector<Subnet> taken = host_subnets();
  for (const auto &r : list_networks(root))
    try {
      taken.push_back(parse_subnet(r.subnet));
    } catch (const Error &) {
    }
  taken.push_back(from_env(root).subnet);
  return taken;
}

Subnet pick_subnet(const std::string &root) {
  std::string pool_text = sys::env("KOKER_NETWORK_POOL", "172.16.0.0/12");
  Subnet pool;
  try {
    pool = parse_subnet(pool_text);
  } catch (const Error &e) {
    fail("invalid KOKER_NETWORK_POOL: ", e.what());
  }
  auto size = sys::parse_uint(sys::env("KOKER_NETWORK_POOL_SIZE", "16"));
  if (!size || *size < pool.prefix || *size > 29)
    fail("invalid KOKER_NETWORK_POOL_SIZE ", printable(sys::env("KOKER_NETWORK_POOL_SIZE", "")),
         ": a prefix length from ", pool.prefix, " (the pool's) to 29");
  unsigned prefix = static_cast<unsigned>(*size);
  std::vector<Subnet> taken = taken_subnets(root);
  uint64_t count = uint64_t(1) << (prefix - pool.prefix), step = uint64_t(1) << (32 - prefix);
  for (uint64_t i = 0; i < count; ++i) {
    Subnet s{static_cast<uint32_t>(pool.network + i * step), prefix};
    bool free = true;
    for (const auto &t : taken)
      free = free && !overlaps(s, t);
    if (free)
      return s;
  }
  fail("could not find an available, non-overlapping IPv4 address pool among the defaults to "
       "assign to the network (KOKER_NETWORK_POOL ", pool.str(), " is used up)");
}

// The host's IPv6 routes (but the default one), from /proc/net/ipv6_route: every address
// the host has lies in one of them too.
std::vector<Subnet6> host_subnets6() {
  std::vector<Subnet6> used;
  log::debug("read /proc/net/ipv6_route (the host's IPv6 routes)");
  auto routes = sys::read_file_if_exists("/proc/net/ipv6_route", 1 << 20);
  if (!routes)
    return used;
  for (const auto &line : text::split(*routes, '\n')) {
    auto w = text::split(line, ' ');
    if (w.size() < 2 || w[0].size() != 32)
      continue;
    Subnet6 s;
    for (size_t i = 0; i < 16; ++i)
      s.network[i] = static_cast<uint8_t>(std::strtoul(w[0].substr(2 * i, 2).c_str(), nullptr, 16));
    s.prefix = static_cast<unsigned>(std::strtoul(w[1].c_str(), nullptr, 16));
    if (s.prefix > 0)
      used.push_back(s);
  }
  return used;
}

// The host's ULA /48 for networks: KOKER_NETWORK_POOL6, else fd and 40 random bits (RFC 4193)
// drawn once and kept with the store's networks.
Subnet6 pool6(const std::string &root) {
  std::string text = sys::env("KOKER_NETWORK_POOL6", "");
  std::string kept = root + "/networks/.pool6";
  if (text.empty()) {
    if (auto t = sys::read_file_if_exists(kept, 128))
      text = text::trim(*t);
  }
  if (text.empty()) {
    std::string hex = sys::random_hex(10);
    text = cat("fd", hex.substr(0, 2), ":", hex.substr(2, 4), ":", hex.substr(6, 4), "::/48");
    sys::write_file_atomic(kept, text + "\n", 0600);
  }
  try {
    return parse_subnet6(text);
  } catch (const Error &e) {
    fail("invalid KOKER_NETWORK_POOL6: ", e.what());
  }
}

// A /64 of the pool that neither a route of the host nor another network uses.
Subnet6 pick_subnet6(const std::string &root) {
  Subnet6 pool = pool6(root);
  if (pool.prefix > 64)
    fail("invalid KOKER_NETWORK_POOL6 ", pool.str(), ": at most /64");
  std::vector<Subnet6> taken = host_subnets6();
  for (const auto &r : list_networks(root))
    if (!r.subnet6.empty())
      taken.push_back(parse_subnet6(r.subnet6));
  if (auto bridge6 = from_env(root).subnet6) // the default bridge's, while it is down too
    taken.push_back(*bridge6);
  uint64_t count = uint64_t(1) << std::min(64 - pool.prefix, 16u);
  for (uint64_t i = 0; i < count; ++i) {
    Subnet6 s = pool;
    s.prefix = 64;
    for (int b = 7; b >= 0 && (i >> (8 * (7 - b))); --b)
      s.network[static_cast<size_t>(b)] |= static_cast<uint8_t>(i >> (8 * (7 - b)));
    bool free = true;
    for (const auto &t : taken)
      free = free && !overlaps6(s, t);
    if (free)
      return s;
  }
  fail("could not find an available, non-overlapping IPv6 address pool to assign to the "
       "network (KOKER_NETWORK_POOL6 ",
       pool.str(), " is used up)");
}

// Refuses s6 when another network of the store (the default bridge's too) shares addresses
// with it.
void check_free6(const std::string &root, const Subnet6 &s6) {
  for (const auto &other : list_networks(root))
    if (!other.subnet6.empty() && overlaps6(s6, parse_subnet6(other.subnet6)))
      fail("invalid pool request: Pool overlaps with other one on this address space (",
           other.subnet6, " of network ", other.name, ")");
  if (auto bridge6 = from_env(root).subnet6; bridge6 && overlaps6(s6, *bridge6))
    fail("invalid pool request: Pool overlaps with other one on this address space (",
         bridge6->str(), " of the default bridge network)");
}

} // namespace

void set_bridge_ipv6(const Network &n, bool on, const std::string &subnet6) {
  sys::FileLock lock = lock_networks(n.root);
  Network want = n;
  want.subnet6.reset();
  if (on && !subnet6.empty()) {
    want.subnet6 = parse_subnet6(subnet6);
    Network without = n;
    without.subnet6.reset();
    if (!n.subnet6 || n.subnet6->str() != want.subnet6->str())
      check_free6(n.root, *want.subnet6);
  } else if (on) {
    want.subnet6 = n.subnet6 ? *n.subnet6 : pick_subnet6(n.root);
  }
  std::string path = bridge_ipv6_path(n.root, n.bridge);
  bool same = n.subnet6.has_value() == want.subnet6.has_value() &&
              (!n.subnet6 || n.subnet6->str() == want.subnet6->str());
  if (!same) {
    gc(n.root);
    size_t used = leases(n).size();
    if (used > 0)
      fail("bridge ", n.bridge, " serves ", used, " container(s): stop them before turning ",
           "its IPv6 ", on ? "on" : "off");
    // The bridge as it was goes (its IPv6 address and rules with it) and comes back as asked.
    bool exists = false;
    {
      netlink::Socket s;
      exists = netlink::get_link(s, n.bridge).has_value();
    }
    if (exists)
      down(n);
    if (want.subnet6) {
      log::debug("write ", path, " ", want.subnet6->str());
      sys::write_file_atomic(path, want.subnet6->str() + "\n", 0600);
    } else {
      log::debug("unlink ", path);
      if (::unlink(path.c_str()) < 0 && errno != ENOENT)
        sys_fail("unable to remove ", path);
    }
  }
  up(want);
}

NetworkRecord create_network(const std::string &root, const CreateRequest &req) {
  check_network_name(req.name);
  sys::FileLock lock = lock_networks(root);
  if (find_network(root, req.name) && find_network(root, req.name)->name == req.name)
    fail("network with name ", req.name, " already exists");
  NetworkRecord r;
  r.name = req.name;
  r.id = sys::random_hex(32);
  r.created = sys::now_rfc3339();
  r.internal = req.internal;
  r.labels = req.labels;
  r.options = req.options;
  r.options.erase("com.docker.network.bridge.name");
  r.bridge = req.bridge.empty() ? "br-" + r.id.substr(0, 12) : req.bridge;
  if (!detail::valid_bridge_name(r.bridge))
    fail("invalid bridge name ", printable(r.bridge), ": at most 15 characters of [a-zA-Z0-9_.-]");
  if (r.bridge == from_env(root).bridge)
    fail("bridge name ", r.bridge, " is the default network's");
  for (const auto &other : list_networks(root))
    if (other.bridge == r.bridge)
      fail("bridge name ", r.bridge, " is used by network ", other.name);
  {
    netlink::Socket s;
    if (netlink::get_link(s, r.bridge))
      fail("bridge name ", r.bridge, " is taken: a link of that name exists on the host");
  }
  Subnet subnet;
  if (req.subnet.empty()) {
    if (!req.gateway.empty() || !req.ip_range.empty())
      fail("--gateway and --ip-range need --subnet");
    subnet = pick_subnet(root);
  } else {
    subnet = parse_subnet(req.subnet);
    for (const auto &other : list_networks(root))
      if (overlaps(subnet, parse_subnet(other.subnet)))
        fail("invalid pool request: Pool overlaps with other one on this address space (",
             other.subnet, " of network ", other.name, ")");
    if (overlaps(subnet, from_env(root).subnet))
      fail("invalid pool request: Pool overlaps with other one on this address space (",
           from_env(root).subnet.str(), " of the default bridge network)");
  }
  r.subnet = subnet.str();
  uint32_t gw = subnet.gateway();
  if (!req.gateway.empty()) {
    auto g = parse_ip(req.gateway);
    if (!g)
      fail("invalid gateway ", printable(req.gateway), ": not an IPv4 address");
    if (*g <= subnet.network || *g >= subnet.broadcast())
      fail("no matching subnet for gateway ", req.gateway, " (", r.subnet, ")");
    gw = *g;
  }
  r.gateway = ip_string(gw);
  if (!req.ip_range.empty()) {
    Subnet range = parse_subnet(req.ip_range);
    if (range.prefix < subnet.prefix || !overlaps(range, subnet))
      fail("no matching subnet for range ", req.ip_range, " (", r.subnet, ")");
    r.ip_range = range.str();
  }

  if (!req.subnet6.empty() && !req.ipv6)
    fail("an IPv6 --subnet needs --ipv6");
  if (req.ipv6) {
    Subnet6 s6;
    if (req.subnet6.empty()) {
      s6 = pick_subnet6(root);
    } else {
      s6 = parse_subnet6(req.subnet6);
      check_free6(root, s6);
    }
    r.subnet6 = s6.str();
    r.gateway6 = ip6_string(s6.gateway());
  }

  // The record first: a kill -9 after it leaves a network rm and prune remove whole; none
  // leaves a bridge without one.
  write_network_record(root, r);
  sys::Rollback undo;
  undo.add("remove network " + r.name, [&] {
    down(network_of(root, r));
    log::debug("unlink ", root, "/networks/", r.name, ".json");
    ::unlink(cat(root, "/networks/", r.name, ".json").c_str());
  });
  Network n = network_of(root, r);
  sys::mkdir_p(n.root + "/net", 0700);
  sys::mkdir_p(n.dir(), 0700);
  up(n);
  undo.dismiss();
  return r;
}

void remove_network(const std::string &root, const NetworkRecord &r) {
  sys::FileLock lock = lock_networks(root);
  Network n = network_of(root, r);
  gc(n.root);
  if (network_in_use(n))
    fail("error while removing network: network ", r.name, " id ", r.id,
         " has active endpoints");
  stop_resolver(n);
  down(n);
  std::string path = cat(root, "/networks/", r.name, ".json");
  log::debug("unlink ", path);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    sys_fail("unable to remove ", path);
}

} // namespace koker::net
