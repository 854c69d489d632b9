// SPDX-License-Identifier: MIT
// The netlink side of bridge networking: the bridge itself, addresses handed out with it,
// veth pairs, and the clean-up of what dead containers left (see net_detail.hpp).
#include "base/error.hpp"
#include "base/log.hpp"
#include "net/detail.hpp"
#include "net/netlink.hpp"
#include "net/proxy.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::net {

using namespace detail;

namespace {
const char *forward6 = "/proc/sys/net/ipv6/conf/all/forwarding";

// The IPv6 half of up(): forwarding on (its value kept, as ip_forward's), the rules of
// bridge_rules6 in ip6tables, each unless there already. Under the host lock.
void up6(const Network &n) {
  std::string now = read_sysctl(forward6);
  if (now != "1") {
    if (!sys::exists(forward6_file()))
      sys::write_file_atomic(forward6_file(), now + "\n", 0600);
    write_sysctl(forward6, "1");
  }
  // The chain for published ports on the host's IPv6 addresses, as the IPv4 one.
  if (!n.internal) {
    Output o = iptables({"-t", "nat", "-N", n.chain()}, true);
    if (o.status != 0 && o.err.find("exists") == std::string::npos)
      fail("unable to create the ip6tables chain ", n.chain(), ": ", text::trim(o.err));
  }
  std::string nat, filter;
  for (const auto &r : bridge_rules6(n)) {
    std::vector<std::string> args = {"-t", r.table, "-C", r.chain};
    args.insert(args.end(), r.spec.begin(), r.spec.end());
    if (iptables(args, true).status == 0)
      continue;
    std::string line = cat(r.insert ? "-I " : "-A ", r.chain, " ", joined(r.spec), "\n");
    (std::string_view(r.table) == "nat" ? nat : filter) += line;
  }
  ensure_isolation_chains(true);
  restore_tables(nat, filter, true);
  ensure_isolation_chains(true);
}

// The IPv6 half of down(): the bridge's rules in ip6tables, whether or not the record still
// says IPv6 (a kill -9 may have left them). Nothing when ip6tables is missing.
void down6(const Network &n) {
  if (iptables({"-S", "FORWARD"}, true).status != 0)
    return;
  std::string nat, filter;
  for (const auto &rule : list_rules("nat", "", true))
    if (is_bridge_rule(n, rule))
      nat += "-D" + rule.substr(2) + "\n";
  if (iptables({"-t", "nat", "-S", n.chain()}, true).status == 0)
    nat += cat("-F ", n.chain(), "\n-X ", n.chain(), "\n");
  for (const char *filter_chain : {"FORWARD", isolation_stage1, isolation_stage2})
    for (const auto &rule : list_rules("filter", filter_chain, true))
      if (is_bridge_rule(n, rule))
        filter += "-D" + rule.substr(2) + "\n";
  restore_tables(nat, filter, true);
  remove_isolation_chains_if_unused(true);
}

// A fast check: the bridge exists, koker finished making it, on this subnet, for this store.
bool is_up(const Network &n, netlink::Socket &s) {
  auto link = netlink::get_link(s, n.bridge);
  if (!link || link->kind != "bridge")
    return false;
  Alias a = parse_alias(link->alias);
  return a.koker && a.subnet == n.subnet.str() && a.root == n.root &&
         a.subnet6 == (n.subnet6 ? n.subnet6->str() : "");
}

// Releases a lease whose container no longer runs: its veth (if the kernel has not removed
// it with the namespace), its rules, its port files and its address.
void reclaim(const Network &n, const Lease &l) {
  if (!l.veth.empty())
    delete_veth(l.veth);
  release(n, l);
}

// Frees host port p for reserve() unless a container that may still use it holds it, as
// addresses are freed: a file naming no container (a write cut short) goes; the lease of a
// holder that no longer runs (kill -9 of its koker-run or supervisor) is reclaimed whole.
// Throws, naming the holder, while it runs.
void take_over_port(const Network &n, const Port &p) {
  std::string path = port_path(n, p);
  auto owner = owner_of(path);
  if (!owner) {
    remove_ownerless(path);
    return;
  }
  auto held = lease_of(n, *owner);
  Recorded r = held.value_or(Recorded{});
  r.lease.id = *owner;
  if (in_use(n.root, r)) {
    auto rec = container::load(n.root, *owner);
    bool running = rec && container::refresh(n.root, *rec).status == "running";
    fail("port ", p.host_port, "/", p.proto, " is already published by container ",
         owner->substr(0, 12), rec && !rec->name.empty() ? cat(" (", rec->name, ")") : "",
         running ? ", which is running" : ", which is starting");
  }
  log::debug("port ", p.host_port, "/", p.proto, ": container ", owner->substr(0, 12),
             " no longer runs: releasing what it held");
  if (held)
    reclaim(n, held->lease);
  // A port file left without its lease, or a lease cut short before its ports: the holder's
  // rules may still be there.
  if (!held || held->lease.ports.empty())
    remove_container_rules(n, {*owner});
  unlink_if_owned(path, *owner);
}

} // namespace

// ---------------------------------------------------------------- up and down

void up(const Network &n) {
  sys::mkdir_p(host_lock_dir(), 0700);
  sys::FileLock host(host_lock(), sys::FileLock::Mode::exclusive);
  netlink::Socket s;
  auto link = netlink::get_link(s, n.bridge);
  if (link && link->kind != "bridge")
    fail("KOKER_BRIDGE names ", n.bridge, ", which is a ",
         link->kind.empty() ? "device" : link->kind, ", not a bridge");
  Alias a = link ? parse_alias(link->alias) : Alias{};
  if (a.koker && a.subnet != n.subnet.str())
    fail("bridge ", n.bridge, " is on ", a.subnet, ", not on KOKER_SUBNET ", n.subnet.str(),
         ": run koker-net down first, or choose another KOKER_BRIDGE");
  if (a.koker && a.root != n.root) {
    Network theirs = n;
    theirs.root = a.root;
    size_t used = leases(theirs).size();
    if (used > 0)
      fail("bridge ", n.bridge, " serves ", used, " container(s) of the store ", a.root,
           ": choose another KOKER_BRIDGE");
    log::debug("bridge ", n.bridge, ": the store ", a.root, " has no container on it; taking it");
  }
  // The value to give back on down: this bridge's record, else another koker bridge's (which
  // turned forwarding on), else what it is now.
  std::string forward = a.forward;
  for (const auto &l : netlink::list_links(s)) {
    Alias other = parse_alias(l.alias);
    if (!other.koker || l.name == n.bridge)
      continue;
    if (forward.empty() && !other.forward.empty())
      forward = other.forward;
    if (overlap(n.subnet, other.subnet))
      fail("KOKER_SUBNET ", n.subnet.str(), " overlaps ", other.subnet, " of bridge ", l.name,
           ": choose another subnet");
  }
  if (!link) {
    if (!netlink::add_bridge(s, n.bridge))
      log::debug("bridge ", n.bridge, " exists already");
    link = netlink::get_link(s, n.bridge);
    if (!link)
      fail("bridge ", n.bridge, " vanished while it was being made");
  }
  netlink::add_address(s, *link, n.gw(), n.subnet.prefix);
  if (n.subnet6) {
    write_sysctl(cat("/proc/sys/net/ipv6/conf/", n.bridge, "/disable_ipv6"), "0");
    netlink::add_address6(s, *link, n.subnet6->gateway(), n.subnet6->prefix);
  }
  write_sysctl(cat("/proc/sys/net/ipv4/conf/", n.bridge, "/route_localnet"), "1");
  netlink::set_up(s, n.bridge);

  const std::string ip_forward = "/proc/sys/net/ipv4/ip_forward";
  std::string now = read_sysctl(ip_forward);
  if (forward.empty())
    forward = now;
  if (now != "1") {
    // Kept before the change, where a run killed before the alias below still leaves it for
    // down: the host's own value, from before any koker bridge turned forwarding on.
    if (!sys::exists(forward_file()))
      sys::write_file_atomic(forward_file(), now + "\n", 0600);
    write_sysctl(ip_forward, "1");
  }

  // The chain for published ports, then each bridge rule unless it is there already (-C):
  // under the host lock, so two first runs never add one twice.
  Output o = iptables({"-t", "nat", "-N", n.chain()});
  if (o.status != 0 && o.err.find("exists") == std::string::npos)
    fail("unable to create the iptables chain ", n.chain(), ": ", text::trim(o.err));
  std::string nat, filter;
  for (const auto &r : bridge_rules(n)) {
    std::vector<std::string> args = {"-t", r.table, "-C", r.chain};
    args.insert(args.end(), r.spec.begin(), r.spec.end());
    if (iptables(args).status == 0)
      continue;
    std::string line = cat(r.insert ? "-I " : "-A ", r.chain, " ", joined(r.spec), "\n");
    (std::string_view(r.table) == "nat" ? nat : filter) += line;
  }
  ensure_isolation_chains();
  restore_tables(nat, filter);
  ensure_isolation_chains(); // the jump above the ACCEPTs just inserted
  if (n.subnet6)
    up6(n);
  // Last: the alias marks the bridge complete, so the next run takes the fast path.
  netlink::set_alias(s, *link, format_alias(n, forward));
}

void down(const Network &n) {
  gc(n.root);
  sys::mkdir_p(host_lock_dir(), 0700);
  std::optional<sys::FileLock> lock;
  if (sys::exists(n.dir()))
    lock.emplace(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
  sys::FileLock host(host_lock(), sys::FileLock::Mode::exclusive);
  // gc removed the files that name no container; any left are not in the way either.
  auto held = leases(n);
  if (!held.empty()) {
    std::string who;
    for (const auto &l : held)
      who += cat(who.empty() ? "" : ", ", l.id.substr(0, 12), " (", l.ip, ")");
    fail("bridge ", n.bridge, " still serves ", held.size(), " container(s): ", who,
         "; stop them first");
  }
  netlink::Socket s;
  auto link = netlink::get_link(s, n.bridge);
  Alias a = link ? parse_alias(link->alias) : Alias{};
  if (a.koker && a.root != n.root) {
    Network theirs = n;
    theirs.root = a.root;
    if (!leases(theirs).empty())
      fail("bridge ", n.bridge, " serves containers of the store ", a.root, ": not removing it");
  }
  std::string nat, filter;
  for (const auto &rule : list_rules("nat", ""))
    if (is_bridge_rule(n, rule))
      nat += "-D" + rule.substr(2) + "\n";
  bool chain = iptables({"-t", "nat", "-S", n.chain()}).status == 0;
  if (chain)
    nat += cat("-F ", n.chain(), "\n-X ", n.chain(), "\n");
  for (const char *filter_chain : {"FORWARD", isolation_stage1, isolation_stage2})
    for (const auto &rule : list_rules("filter", filter_chain))
      if (is_bridge_rule(n, rule))
        filter += "-D" + rule.substr(2) + "\n";
  restore_tables(nat, filter);
  remove_isolation_chains_if_unused();
  down6(n);
  bool ours = link && link->kind == "bridge" && (a.koker || link->alias.empty());
  if (link && !ours)
    fail("bridge ", n.bridge, " was not made by koker: not removing it");
  if (link)
    netlink::delete_link(s, n.bridge);
  bool others = false;
  for (const auto &l : netlink::list_links(s))
    others |= l.name != n.bridge && parse_alias(l.alias).koker;
  const std::string ip_forward = "/proc/sys/net/ipv4/ip_forward";
  if (!others) {
    // The alias's value, or (a bridge whose up was killed before its alias) the host's own
    std::string forward = a.forward;
    if (forward.empty())
      forward = text::trim(sys::read_file_if_exists(forward_file(), 16).value_or(""));
    if (forward == "0" && read_sysctl(ip_forward) != "0")
      write_sysctl(ip_forward, "0");
    ::unlink(forward_file().c_str());
    // IPv6 forwarding likewise, back to the host's value with the last koker bridge.
    std::string forward6_was(text::trim(sys::read_file_if_exists(forward6_file(), 16).value_or("")));
    if (forward6_was == "0" && read_sysctl(forward6) != "0")
      write_sysctl(forward6, "0");
    ::unlink(forward6_file().c_str());
  }
  log::debug("rm -rf ", n.dir());
  sys::rm_rf(n.dir());
}

// ---------------------------------------------------------------- containers

Lease reserve(const Network &n, std::string_view id, const std::vector<Port> &ports,
              std::string_view want_ip, std::string_view want_ip6,
              const std::vector<std::string> &veths_taken) {
  check_distinct_host_ports(ports);
  std::optional<uint32_t> want;
  if (!want_ip.empty()) {
    want = parse_ip(want_ip);
    if (!want)
      fail("invalid IPv4 address ", printable(want_ip));
    if (*want <= n.subnet.network || *want >= n.subnet.broadcast() || *want == n.gw())
      fail("invalid address ", want_ip, ": it does not belong to any of this network's subnets (",
           n.subnet.str(), ")");
  }
  std::string want6;
  if (!want_ip6.empty()) {
    auto a = parse_ip6(want_ip6);
    if (!a)
      fail("invalid IPv6 address ", printable(want_ip6));
    if (!n.subnet6)
      fail("invalid address ", want_ip6, ": bridge ", n.bridge,
           " has no IPv6 subnet (network create --ipv6)");
    if (!contains6(*n.subnet6, *a) || *a == n.subnet6->network || *a == n.subnet6->gateway())
      fail("invalid address ", want_ip6, ": it does not belong to any of this network's subnets (",
           n.subnet6->str(), "), or it is the network's or the gateway's address");
    want6 = ip6_string(*a);
  }
  sys::mkdir_p(n.root + "/net", 0700);
  sys::mkdir_p(n.dir(), 0700);
  sys::FileLock lock(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
  netlink::Socket s;
  if (!is_up(n, s))
    up(n);
  Lease l;
  l.id = std::string(id);
  l.ports = ports;
  // The host end's name: "veth" and 11 hex of the ID (IFNAMSIZ), another 11 if a link has it
  // or the container's other networks reserved it.
  for (size_t k = 0; k + 11 <= l.id.size() && l.veth.empty(); k += 11) {
    std::string name = "veth" + l.id.substr(k, 11);
    if (std::find(veths_taken.begin(), veths_taken.end(), name) == veths_taken.end() &&
        !netlink::get_link(s, name))
      l.veth = name;
  }
  if (l.veth.empty())
    fail("unable to name the veth of container ", l.id.substr(0, 12), ": every name is taken");

  // The IPv6 addresses held, read under the lock as the IPv4 files are claimed: an --ip6
  // taken by another, or the derived address of an IPv4 one that another's --ip6 holds, is
  // known before anything is created.
  auto taken6 = [&] {
    std::vector<std::string> held;
    for (const auto &ip : lease_ips(n))
      if (auto r = read_lease(n, ip); r && !r->lease.ip6.empty())
        held.push_back(r->lease.ip6);
    return held;
  };
  std::vector<std::string> held6;
  if (n.subnet6)
    held6 = taken6();
  auto is_held6 = [&](const std::string &a) {
    return std::find(held6.begin(), held6.end(), a) != held6.end();
  };
  if (!want6.empty() && is_held6(want6)) {
    lock.unlock();
    gc(n.root); // maybe held by a container that died without releasing
    lock.relock(sys::FileLock::Mode::exclusive);
    held6 = taken6();
    if (is_held6(want6))
      fail("address ", want6, " is already in use on bridge ", n.bridge);
  }

  if (want && want6.empty() && n.subnet6 && is_held6(ip6_of(n, ip_string(*want))))
    fail("address ", want_ip, " is not free on bridge ", n.bridge, ": its IPv6 address ",
         ip6_of(n, ip_string(*want)), " is another container's --ip6");

  int pid = static_cast<int>(::getpid());
  uint64_t pid_start = container::process_start_time(pid);
  // The gateway is skipped below.
  uint32_t first = n.range_first ? n.range_first : n.subnet.network + 1;
  uint32_t last = n.range_last ? n.range_last : n.subnet.broadcast() - 1;
  uint32_t count = last - first + 1;
  // Start after the last address handed out (CNI host-local's last_reserved_ip), so a
  // released address is not reused at once.
  std::string last_path = n.dir() + "/last_reserved_ip";
  uint32_t start = first;
  if (auto prev = sys::read_file_if_exists(last_path, 64))
    if (auto ip = parse_ip(text::trim(*prev)); ip && *ip >= first && *ip < last)
      start = *ip + 1;
  if (want) { // one address only: the first, count 1
    first = start = *want;
    count = 1;
  }
  for (int attempt = 0; attempt < 2 && l.ip.empty(); ++attempt) {
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t ip = first + (start - first + i) % count;
      if (ip == n.gw())
        continue;
      l.ip6 = !want6.empty() ? want6 : ip6_of(n, ip_string(ip));
      if (want6.empty() && !l.ip6.empty() && is_held6(l.ip6)) {
        log::debug(ip_string(ip), ": its IPv6 address ", l.ip6, " is another container's --ip6");
        continue;
      }
      std::string text = lease_text(l, pid, pid_start);
      // A file naming no container (a write cut short) holds nothing: take it over.
      std::string path = lease_path(n, ip_string(ip));
      if (create_excl(path, text) || (remove_ownerless(path) && create_excl(path, text))) {
        l.ip = ip_string(ip);
        break;
      }
    }
    if (l.ip.empty() && attempt == 0) {
      // Full: maybe of containers that died without releasing (a reboot, kill -9).
      lock.unlock();
      gc(n.root);
      lock.relock(sys::FileLock::Mode::exclusive);
      if (n.subnet6)
        held6 = taken6();
    }
  }
  if (l.ip.empty() && want)
    fail("address ", want_ip, " is already in use on bridge ", n.bridge);
  if (l.ip.empty())
    fail("no free address on bridge ", n.bridge, ": all ",
         count - (n.gw() >= first && n.gw() <= last ? 1 : 0), " addresses of ", n.subnet.str(),
         " are in use");
  sys::Rollback undo;
  undo.add("unlink " + lease_path(n, l.ip), [&] { unlink_if_owned(lease_path(n, l.ip), l.id); });
  if (!want) // an address asked for does not move the round-robin
    sys::overwrite_file(last_path, l.ip + "\n", 0600); // a hint, checked when read
  if (!ports.empty())
    sys::mkdir_p(n.dir() + "/ports", 0700);
  for (const auto &p : ports) {
    std::string path = port_path(n, p);
    if (!create_excl(path, l.id + "\n")) {
      take_over_port(n, p);
      if (!create_excl(path, l.id + "\n"))
        fail("unable to publish port ", p.host_port, "/", p.proto, ": ", path,
             " is still there");
    }
    undo.add("unlink " + path, [path, &l] { unlink_if_owned(path, l.id); });
  }
  undo.dismiss();
  return l;
}

Fd open_namespace(int pid) {
  std::string ns_path = cat("/proc/", pid, "/ns/net");
  Fd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns)
    sys_fail("unable to open ", ns_path);
  return ns;
}

void connect(const Network &n, const Lease &l, int netns, const std::string &ifname) {
  // Configuring eth0, addresses and routes "inside" the host's own namespace would rewire
  // the host.
  struct stat theirs, ours;
  check(::fstat(netns, &theirs), "unable to stat the container's network namespace");
  check(::stat("/proc/self/ns/net", &ours), "unable to stat /proc/self/ns/net");
  if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
    fail("container ", l.id.substr(0, 12), " is in the host's network namespace: it needs ",
         "one of its own");
  netlink::Socket host;
  auto bridge = netlink::get_link(host, n.bridge);
  if (!bridge)
    fail("bridge ", n.bridge, " is gone (koker-net down?)");
  // docker's MAC on its networks: 02:42 and the address, so a reused address keeps its MAC.
  uint32_t ip = *parse_ip(l.ip);
  uint8_t mac[6] = {0x02, 0x42, uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)};
  bool user = n.gateway != 0; // a user-defined network (the default bridge keeps its MACs)
  if (!netlink::add_veth(host, l.veth, *bridge, ifname, netns, user ? mac : nullptr))
    fail("unable to create veth ", l.veth, ": a link of that name exists already");
  // The host's end is a bridge port: it needs no IPv6 of its own. With it, every port's
  // link-local and multicast routes join the one list the host's IPv6 table keeps for
  // fe80::/64 and for ff00::/8, which each new port walks as it comes up (with 700 containers
  // on the bridge, milliseconds of each start: bench/README.md). Set before it is up.
  write_sysctl_if_present(cat("/proc/sys/net/ipv6/conf/", l.veth, "/disable_ipv6"), "1");
  netlink::set_up(host, l.veth);
  netlink::Socket inside(netns);
  auto dev = netlink::get_link(inside, ifname);
  if (!dev)
    fail(ifname, " did not appear in the container's network namespace");
  // docker gives an interface of a network without IPv6 no IPv6 (it writes disable_ipv6; koker
  // asks netlink for no link-local address: that sysctl, written in each container's namespace,
  // leaves an entry per namespace that every later lookup of the path compares). Else its
  // address's probes and reports are flooded to every port of the bridge at each start.
  if (!n.subnet6 || l.ip6.empty())
    netlink::set_addrgenmode_none(inside, *dev);
  netlink::set_up(inside, ifname);
  netlink::add_address(inside, *dev, ip, n.subnet.prefix);
  if (n.subnet6 && !l.ip6.empty())
    netlink::add_address6(inside, *dev, *parse_ip6(l.ip6), n.subnet6->prefix);
  // An internal network has no way out; a second network adds no default route (docker: the
  // first network's gateway stays the container's).
  if (!n.internal && ifname == "eth0") {
    netlink::add_default_route(inside, n.gw());
    if (n.subnet6)
      netlink::add_default_route6(inside, *dev, n.subnet6->gateway());
  }
  if (!l.ports.empty()) {
    std::string nat, nat6;
    for (const auto &p : l.ports) {
      if (!p.v6())
        nat += port_rule(n, l, p) + "\n";
      bool host6 = p.v6() && !p.any() && p.host_ip != "::1";
      if (host6 && (l.ip6.empty() || n.internal))
        fail("port ", p.host_port, "/", p.proto, " on [", p.host_ip, "]: the container has no ",
             "IPv6 address with a way out on bridge ", n.bridge, " (network create --ipv6)");
      if (!l.ip6.empty() && !n.internal && (p.any() || host6))
        nat6 += port_rule6(n, l, p) + "\n";
    }
    restore_tables(nat, "");
    restore_tables(nat6, "", true);
  }
}

std::string free_ifname(int pid) {
  Fd ns = open_namespace(pid);
  netlink::Socket inside(ns.get());
  for (int i = 0;; ++i)
    if (!netlink::get_link(inside, cat("eth", i)))
      return cat("eth", i);
}

void delete_veth(const std::string &name) {
  try {
    netlink::Socket s;
    netlink::delete_link(s, name);
  } catch (const std::exception &e) {
    log::warn("unable to delete veth ", name, ": ", e.what());
  }
}

void unplug(const std::string &root, const container::Record &rec) {
  for (const auto &[n, l] : container_leases(root, rec))
    if (!l.veth.empty())
      delete_veth(l.veth);
}

std::vector<std::string> gc(const std::string &root) {
  std::vector<std::string> released;
  std::string dir = root + "/net";
  if (!sys::exists(dir))
    return released;
  for (const auto &bridge : sys::list_dir(dir)) {
    Network n;
    n.root = root;
    n.bridge = bridge;
    if (!valid_bridge_name(bridge) || !sys::exists(n.dir() + "/lock"))
      continue;
    sys::FileLock lock(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
    std::vector<std::string> live_ids, live_veths;
    for (const auto &ip : lease_ips(n)) {
      auto r = read_lease(n, ip);
      if (!r) {
        remove_ownerless(lease_path(n, ip));
        continue;
      }
      if (in_use(root, *r)) {
        live_ids.push_back(r->lease.id);
        live_veths.push_back(r->lease.veth);
        continue;
      }
      log::debug("gc: container ", r->lease.id.substr(0, 12), " no longer runs: releasing ", ip);
      reclaim(n, r->lease);
      released.push_back(r->lease.id);
    }
    // Port files no lease of a live container stands behind: those naming no container, and
    // those a crash left behind their released lease.
    if (sys::exists(n.dir() + "/ports"))
      for (const auto &name : sys::list_dir(n.dir() + "/ports")) {
        std::string path = n.dir() + "/ports/" + name;
        auto owner = owner_of(path);
        if (!owner)
          remove_ownerless(path);
        else if (std::find(live_ids.begin(), live_ids.end(), *owner) == live_ids.end())
          try {
            log::debug("gc: ", path, ": container ", owner->substr(0, 12), " no longer runs");
            unlink_if_owned(path, *owner);
          } catch (const std::exception &e) {
            log::warn(e.what());
          }
      }
    // What a crash left without a lease: rules of unknown containers, veths on the bridge.
    // A bridge another store took over since (its alias names that store) is theirs.
    netlink::Socket s;
    auto br = netlink::get_link(s, bridge);
    Alias a = br ? parse_alias(br->alias) : Alias{};
    if (a.koker && a.root != canonical(root))
      continue;
    remove_container_rules(n, {}, live_ids);
    for (const auto &id : proxy_ids(n))
      if (std::find(live_ids.begin(), live_ids.end(), id) == live_ids.end())
        stop_proxy(n, id);
    if (br)
      for (const auto &l : netlink::list_links(s))
        if (l.master == br->index && l.kind == "veth" &&
            std::find(live_veths.begin(), live_veths.end(), l.name) == live_veths.end()) {
          log::debug("gc: veth ", l.name, " on ", bridge, " has no lease");
          netlink::delete_link(s, l.name);
        }
  }
  return released;
}

} // namespace koker::net
