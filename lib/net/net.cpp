// SPDX-License-Identifier: MIT
// Bridge networking without netlink: parsing, address leases, iptables rules, release. The
// netlink side (the bridge, veths, gc) is bridge.cpp; see detail.hpp for why.
#include "net/net.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "net/detail.hpp"
#include "net/proxy.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::net {

namespace detail {

// The store's path as the bridge's alias records it, so that two spellings of one store match.
std::string canonical(const std::string &root) {
  char real[PATH_MAX];
  return ::realpath(root.c_str(), real) ? std::string(real) : root;
}

bool valid_bridge_name(std::string_view name) {
  // IFNAMSIZ less the NUL; the chain "KOKER-<name>" must also fit iptables' 28 characters.
  if (name.empty() || name.size() > 15)
    return false;
  return text::all(name,
                   [](char c) { return text::is_alnum(c) || c == '_' || c == '-' || c == '.'; });
}

// ---------------------------------------------------------------- iptables


// Runs iptables or iptables-restore (always with -w: wait for the xtables lock rather than
// fail) with input on its stdin; never through a shell.
Output spawn(const char *tool, const std::vector<std::string> &args, std::string_view input) {
  std::string path = cat("/usr/sbin/", tool);
  if (!sys::exists(path))
    path = cat("/sbin/", tool);
  if (!sys::exists(path))
    path = tool;
  std::vector<std::string> words{tool, "-w"};
  words.insert(words.end(), args.begin(), args.end());
  // Rule batches are far smaller than a pipe's buffer, and the tools read all input before
  // writing: no deadlock between the three pipes.
  Output o = sys::run_program(path, words, input);
  if (o.status == 127 && o.err.empty())
    o.err = cat(tool, " not found: install iptables");
  return o;
}

std::string joined(const std::vector<std::string> &words) {
  std::string s;
  for (const auto &w : words)
    s += (s.empty() ? "" : " ") + w;
  return s;
}

Output iptables(const std::vector<std::string> &args, bool v6) {
  const char *tool = v6 ? "ip6tables" : "iptables";
  log::debug(tool, " -w ", joined(args));
  return spawn(tool, args);
}

// Applies a batch ("*nat\n-A ...\nCOMMIT\n") in one process, atomically per table.
void iptables_restore(const std::string &batch, bool v6) {
  const char *tool = v6 ? "ip6tables-restore" : "iptables-restore";
  log::debug(tool, " -w --noflush <<EOF\n", batch, "EOF");
  Output o = spawn(tool, {"--noflush"}, batch);
  if (o.status != 0)
    fail(tool, " failed: ", text::trim(o.err));
}

void restore_tables(const std::string &nat, const std::string &filter, bool v6) {
  std::string batch;
  if (!nat.empty())
    batch += "*nat\n" + nat + "COMMIT\n";
  if (!filter.empty())
    batch += "*filter\n" + filter + "COMMIT\n";
  if (!batch.empty())
    iptables_restore(batch, v6);
}

// The rules of chain in table, as iptables -S prints them ("-A CHAIN ..."); none when the
// chain does not exist.
std::vector<std::string> list_rules(const std::string &table, const std::string &chain, bool v6) {
  std::vector<std::string> args = {"-t", table, "-S"};
  if (!chain.empty())
    args.push_back(chain);
  Output o = iptables(args, v6);
  std::vector<std::string> rules;
  if (o.status != 0)
    return rules;
  for (auto &line : text::split(o.out, '\n'))
    if (line.rfind("-A ", 0) == 0)
      rules.push_back(line);
  return rules;
}

bool has_word(const std::string &rule, std::string_view word) {
  for (const auto &w : text::split(rule, ' '))
    if (w == word)
      return true;
  return false;
}


// The bridge's own rules. Loopback: a host process reaching 127.0.0.1:HOSTPORT is DNATed in
// OUTPUT; the kernel routes a 127/8 source out of a non-loopback device only with
// route_localnet on it, and MASQUERADE then gives it the gateway's address so the container's
// reply comes back to the host (docker's userland-proxy=false does the same). Hairpin: a
// container reaching a published port is DNATed back into the bridge; its source is
// MASQUERADEd so the reply returns through the host's conntrack rather than straight over the
// bridge (no need for br_netfilter).
std::vector<Rule> bridge_rules(const Network &n) {
  const std::string br = n.bridge, sub = n.subnet.str(), chain = n.chain();
  std::vector<std::string> tag = {"-m", "comment", "--comment", "koker"};
  auto with = [&](std::vector<std::string> spec, std::vector<std::string> target) {
    spec.insert(spec.end(), tag.begin(), tag.end());
    spec.insert(spec.end(), target.begin(), target.end());
    return spec;
  };
  // docker's isolation, in chains of koker's own: what leaves a koker bridge for another
  // goes to stage 2, which drops it when it enters one; each bridge adds one rule to each
  // chain, and its down removes them.
  std::vector<Rule> isolation = {
      {"filter", isolation_stage1, false,
       with({"-i", br, "!", "-o", br}, {"-j", isolation_stage2})},
      {"filter", isolation_stage2, false, with({"-o", br}, {"-j", "DROP"})},
  };
  if (n.internal) { // docker's internal network: traffic stays on the bridge
    isolation.push_back(
        {"filter", isolation_stage1, true, with({"-i", br, "!", "-o", br}, {"-j", "DROP"})});
    isolation.push_back(
        {"filter", isolation_stage1, true, with({"!", "-i", br, "-o", br}, {"-j", "DROP"})});
    return isolation;
  }
  std::vector<Rule> rules = {
      {"nat", "PREROUTING", false, with({"-m", "addrtype", "--dst-type", "LOCAL"}, {"-j", chain})},
      {"nat", "OUTPUT", false, with({"-m", "addrtype", "--dst-type", "LOCAL"}, {"-j", chain})},
      {"nat", "POSTROUTING", false, with({"-s", sub, "!", "-o", br}, {"-j", "MASQUERADE"})},
      {"nat", "POSTROUTING", false,
       with({"-s", sub, "-o", br, "-m", "conntrack", "--ctstate", "DNAT"}, {"-j", "MASQUERADE"})},
      {"nat", "POSTROUTING", false, with({"-s", "127.0.0.0/8", "-o", br}, {"-j", "MASQUERADE"})},
      {"filter", "FORWARD", true, with({"-i", br}, {"-j", "ACCEPT"})},
      {"filter", "FORWARD", true, with({"-o", br}, {"-j", "ACCEPT"})},
  };
  rules.insert(rules.end(), isolation.begin(), isolation.end());
  return rules;
}

std::vector<Rule> bridge_rules6(const Network &n) {
  // The IPv4 set less what IPv6 has not: no published-port chain (no route_localnet; see
  // docs/networking.md), masquerade of the /64 only. Isolation and internal as for IPv4.
  std::vector<Rule> rules;
  for (auto &r : bridge_rules(n)) {
    bool isolation = std::string_view(r.chain).rfind("KOKER-ISOLATION", 0) == 0;
    if (isolation || std::string_view(r.chain) == "FORWARD")
      rules.push_back(r);
  }
  if (!n.internal && n.subnet6) {
    auto tagged = [](std::vector<std::string> spec, std::vector<std::string> target) {
      for (const char *w : {"-m", "comment", "--comment", "koker"})
        spec.emplace_back(w);
      spec.insert(spec.end(), target.begin(), target.end());
      return spec;
    };
    const std::string sub6 = n.subnet6->str(), chain = n.chain();
    // Published ports on the host's IPv6 addresses, but ::1: a packet from ::1 cannot be
    // DNATed out of the host (the proxy, net/proxy.hpp, serves it; DNAT would take its
    // connections away from it).
    rules.push_back({"nat", "PREROUTING", false,
                     tagged({"-m", "addrtype", "--dst-type", "LOCAL"}, {"-j", chain})});
    rules.push_back({"nat", "OUTPUT", false,
                     tagged({"!", "-d", "::1/128", "-m", "addrtype", "--dst-type", "LOCAL"},
                            {"-j", chain})});
    rules.push_back(
        {"nat", "POSTROUTING", false, tagged({"-s", sub6, "!", "-o", n.bridge}, {"-j", "MASQUERADE"})});
    rules.push_back({"nat", "POSTROUTING", false,
                     tagged({"-s", sub6, "-o", n.bridge, "-m", "conntrack", "--ctstate", "DNAT"},
                            {"-j", "MASQUERADE"})});
  }
  return rules;
}

namespace {
const std::vector<std::string> isolation_jump = {
    "-m", "comment", "--comment", "koker-isolation", "-j", isolation_stage1};
std::string jump_line() { return cat("-A FORWARD ", joined(isolation_jump)); }
} // namespace

void ensure_isolation_chains(bool v6) {
  for (const char *chain : {isolation_stage1, isolation_stage2}) {
    Output o = iptables({"-N", chain}, v6);
    if (o.status != 0 && o.err.find("exists") == std::string::npos)
      fail("unable to create the iptables chain ", chain, ": ", text::trim(o.err));
  }
  auto forward = list_rules("filter", "FORWARD", v6);
  if (!forward.empty() && forward[0] == jump_line() &&
      std::count(forward.begin(), forward.end(), jump_line()) == 1)
    return;
  std::string batch;
  for (const auto &rule : forward)
    if (rule == jump_line())
      batch += "-D" + rule.substr(2) + "\n";
  batch += cat("-I FORWARD ", joined(isolation_jump), "\n");
  restore_tables("", batch, v6);
}

void remove_isolation_chains_if_unused(bool v6) {
  if (!list_rules("filter", isolation_stage1, v6).empty() ||
      !list_rules("filter", isolation_stage2, v6).empty())
    return;
  std::string batch;
  for (const auto &rule : list_rules("filter", "FORWARD", v6))
    if (rule == jump_line())
      batch += "-D" + rule.substr(2) + "\n";
  for (const char *chain : {isolation_stage1, isolation_stage2})
    if (iptables({"-S", chain}, v6).status == 0)
      batch += cat("-X ", chain, "\n");
  restore_tables("", batch, v6);
}

// A bridge-level rule of this bridge, in iptables -S form.
bool is_bridge_rule(const Network &n, const std::string &rule) {
  return rule.find("--comment koker ") != std::string::npos &&
         (has_word(rule, n.bridge) || has_word(rule, n.chain()));
}

std::string port_rule(const Network &n, const Lease &l, const Port &p) {
  return cat("-A ", n.chain(), p.host_ip == "0.0.0.0" ? "" : " -d " + p.host_ip, " -p ", p.proto,
             " -m ", p.proto, " --dport ", p.host_port, " -m comment --comment koker:", l.id,
             " -j DNAT --to-destination ", l.ip, ":", p.port);
}

std::string port_rule6(const Network &n, const Lease &l, const Port &p) {
  return cat("-A ", n.chain(), p.any() ? "" : " -d " + p.host_ip, " -p ", p.proto, " -m ",
             p.proto, " --dport ", p.host_port, " -m comment --comment koker:", l.id,
             " -j DNAT --to-destination [", l.ip6, "]:", p.port);
}

// Deletes the rules tagged koker:<id> in the bridge's chain; ids empty: those of any container
// not in keep.
void remove_container_rules(const Network &n, const std::vector<std::string> &ids,
                            const std::vector<std::string> &keep, bool with_v6) {
  for (bool v6 : {false, true}) {
  if (v6 && !with_v6)
    break;
  // ip6tables has the chain only on a network with IPv6 (a missing one lists nothing).
  std::string batch;
  for (const auto &rule : list_rules("nat", n.chain(), v6)) {
    // iptables -S quotes this comment: --comment "koker:<id>"
    size_t at = rule.find("koker:", rule.find("--comment "));
    if (rule.find("--comment ") == std::string::npos || at == std::string::npos)
      continue;
    std::string id = rule.substr(at + 6, 64);
    bool match = ids.empty() ? std::find(keep.begin(), keep.end(), id) == keep.end()
                             : std::find(ids.begin(), ids.end(), id) != ids.end();
    if (match)
      batch += "-D" + rule.substr(2) + "\n";
  }
  restore_tables(batch, "", v6);
  }
}

// ---------------------------------------------------------------- the bridge's alias


Alias parse_alias(const std::string &text) {
  Alias a;
  if (text.rfind("koker ", 0) != 0)
    return a;
  a.koker = true;
  size_t r = text.find(" root=");
  if (r != std::string::npos)
    a.root = text.substr(r + 6);
  for (const auto &w : text::split(text.substr(0, r), ' ')) {
    if (w.rfind("subnet=", 0) == 0)
      a.subnet = w.substr(7);
    else if (w.rfind("forward=", 0) == 0)
      a.forward = w.substr(8);
    else if (w.rfind("subnet6=", 0) == 0)
      a.subnet6 = w.substr(8);
  }
  return a;
}

std::string format_alias(const Network &n, const std::string &forward) {
  return cat("koker subnet=", n.subnet.str(), n.subnet6 ? " subnet6=" + n.subnet6->str() : "",
             " forward=", forward, " root=", n.root);
}

// ---------------------------------------------------------------- files

bool write_sysctl_if_present(const std::string &path, std::string_view value) {
  log::debug("write ", path, " ", value);
  Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f && errno == ENOENT)
    return false;
  if (!f)
    sys_fail("unable to open ", path);
  sys::write_fd(f.get(), value, path);
  return true;
}

void write_sysctl(const std::string &path, std::string_view value) {
  if (!write_sysctl_if_present(path, value)) {
    errno = ENOENT;
    sys_fail("unable to open ", path);
  }
}

std::string read_sysctl(const std::string &path) {
  return std::string(text::trim(sys::read_file(path, 64)));
}

std::string lease_path(const Network &n, std::string_view ip) { return cat(n.dir(), "/", ip); }
std::string port_path(const Network &n, const Port &p) {
  return cat(n.dir(), "/ports/", p.proto, "-", p.host_port);
}

std::string lease_text(const Lease &l, int pid, uint64_t start) {
  std::string s = cat(l.id, "\n", l.veth, "\n", pid, " ", start, "\n");
  if (!l.ip6.empty())
    s += "ip6=" + l.ip6 + "\n";
  for (const auto &p : l.ports)
    s += port_string(p) + "\n";
  return s;
}


std::optional<std::string> read_owned(const std::string &path) {
  std::optional<std::string> text;
  try {
    text = sys::read_file_if_exists(path, 64 << 10);
  } catch (const Error &e) {
    log::debug("unable to read ", path, ": ", e.what(), ": taking it as naming no container");
    return std::nullopt;
  }
  if (!text || !container::valid_id(text->substr(0, text->find('\n'))))
    return std::nullopt;
  return text;
}

std::optional<std::string> owner_of(const std::string &path) {
  auto text = read_owned(path);
  return text ? std::optional<std::string>(text->substr(0, 64)) : std::nullopt;
}

bool remove_ownerless(const std::string &path) {
  if (owner_of(path))
    return false;
  log::debug("unlink ", path, " (it names no container)");
  if (::unlink(path.c_str()) == 0 || errno == ENOENT)
    return true;
  log::warn("unable to remove ", path, ", which names no container: ", std::strerror(errno));
  return false;
}

std::optional<Recorded> read_lease(const Network &n, const std::string &ip) {
  auto text = read_owned(lease_path(n, ip));
  if (!text)
    return std::nullopt;
  auto lines = text::split(*text, '\n');
  // Only lines ended by a newline count: a write cut short must not name a veth to delete.
  size_t complete = lines.size() - 1;
  Recorded r;
  r.lease.ip = ip;
  r.lease.id = lines[0].substr(0, 64);
  if (complete > 1)
    r.lease.veth = lines[1];
  if (complete > 2) {
    auto w = text::split(lines[2], ' ');
    r.pid = static_cast<int>(sys::parse_uint(w[0]).value_or(0));
    r.pid_start = w.size() > 1 ? sys::parse_uint(w[1]).value_or(0) : 0;
  }
  for (size_t i = 3; i < complete; ++i) {
    if (lines[i].empty())
      continue;
    if (lines[i].rfind("ip6=", 0) == 0) {
      r.lease.ip6 = lines[i].substr(4);
      continue;
    }
    try {
      r.lease.ports.push_back(parse_port(lines[i]));
    } catch (const Error &e) {
      // Cut short mid-line: the port's own file names its holder, and gc sweeps it.
      log::debug(lease_path(n, ip), ": ", e.what(), ": skipping that port");
    }
  }
  if (r.lease.ip6.empty()) // a lease made before leases recorded it
    r.lease.ip6 = ip6_of(n, ip);
  return r;
}

std::optional<Recorded> lease_of(const Network &n, std::string_view id) {
  for (const auto &ip : lease_ips(n))
    if (auto r = read_lease(n, ip); r && r->lease.id == id)
      return r;
  return std::nullopt;
}

// Creates path with O_EXCL, holding text; false if it exists. A write that fails (ENOSPC, EIO)
// removes the file again: left empty or cut short, it would claim an address or a port for
// no container.
bool create_excl(const std::string &path, const std::string &text) {
  log::debug("create ", path, " O_EXCL");
  Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!f && errno == EEXIST)
    return false;
  if (!f)
    sys_fail("unable to create ", path);
  try {
    sys::write_fd(f.get(), text, path);
  } catch (...) {
    log::debug("unlink ", path, " (the write failed)");
    ::unlink(path.c_str());
    throw;
  }
  return true;
}

// Removes path if its first line is id (a file reused by another container stays).
void unlink_if_owned(const std::string &path, std::string_view id) {
  auto text = sys::read_file_if_exists(path, 64 << 10);
  if (!text || text->substr(0, text->find('\n')) != id)
    return;
  log::debug("unlink ", path);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    sys_fail("unable to remove ", path);
}

std::vector<std::string> lease_ips(const Network &n) {
  std::vector<std::string> ips;
  if (!sys::exists(n.dir()))
    return ips;
  for (const auto &name : sys::list_dir(n.dir()))
    if (parse_ip(name))
      ips.push_back(name);
  std::sort(ips.begin(), ips.end(),
            [](const std::string &a, const std::string &b) { return *parse_ip(a) < *parse_ip(b); });
  return ips;
}

// True when the subnet text (from another bridge's alias) shares addresses with s.
bool overlap(const Subnet &s, const std::string &text) {
  try {
    Subnet t = parse_subnet(text);
    unsigned prefix = std::min(s.prefix, t.prefix);
    uint32_t mask = ~uint32_t(0) << (32 - prefix);
    return (s.network & mask) == (t.network & mask);
  } catch (const Error &) {
    return false;
  }
}

// True while the container holding a lease may still use it.
bool in_use(const std::string &root, const Recorded &r) {
  if (!container::valid_id(r.lease.id))
    return false;
  std::optional<container::Record> rec;
  try {
    rec = container::load(root, r.lease.id);
  } catch (const Error &) {
    return false; // a record nobody can read holds nothing (koker-rm -f removes it)
  }
  bool reserver_alive = container::process_alive(r.pid, r.pid_start);
  if (!rec) // not saved yet by a koker-run that is still starting it, or gone
    return reserver_alive && sys::exists(container::dir_of(root, r.lease.id));
  container::Record now = container::refresh(root, *rec);
  if (now.status == "running")
    return true;
  return now.status == "created" && reserver_alive;
}

} // namespace detail

using namespace detail;

Network from_env(const std::string &root) {
  Network n;
  n.root = canonical(root);
  n.bridge = sys::env("KOKER_BRIDGE", "koker0");
  if (!valid_bridge_name(n.bridge))
    fail("invalid KOKER_BRIDGE ", printable(n.bridge), ": at most 15 characters of [a-zA-Z0-9_.-]");
  n.subnet = parse_subnet(sys::env("KOKER_SUBNET", "10.69.0.0/16"));
  if (auto text = sys::read_file_if_exists(bridge_ipv6_path(n.root, n.bridge), 128);
      text && !text::trim(*text).empty()) {
    try {
      n.subnet6 = parse_subnet6(text::trim(*text));
    } catch (const Error &e) {
      fail(bridge_ipv6_path(n.root, n.bridge), ": ", e.what());
    }
  }
  if (n.root.size() > 200)
    fail("the store's path is too long to record on the bridge (200 characters at most)");
  return n;
}

std::string bridge_ipv6_path(const std::string &root, const std::string &bridge) {
  return cat(root, "/networks/.ipv6-", bridge);
}

std::string ip6_of(const Network &n, const std::string &ip4) {
  auto ip = parse_ip(ip4);
  if (!n.subnet6 || !ip)
    return "";
  return ip6_string(n.subnet6->at(*ip - n.subnet.network));
}

// ---------------------------------------------------------------- containers

void release(const Network &n, const Lease &l) {
  auto warn = [&](const char *what, const std::exception &e) {
    log::warn("unable to release the ", what, " of container ", l.id.substr(0, 12), ": ", e.what());
  };
  stop_proxy(n, l.id); // before the port files: its [::1] ports are free once they go
  try {
    if (!l.ports.empty()) {
      bool v6 = !l.ip6.empty() || std::any_of(l.ports.begin(), l.ports.end(),
                                              [](const Port &p) { return p.v6(); });
      remove_container_rules(n, {l.id}, {}, v6);
      for (const auto &p : l.ports)
        unlink_if_owned(port_path(n, p), l.id);
    }
  } catch (const std::exception &e) {
    warn("published ports", e);
  }
  try {
    unlink_if_owned(lease_path(n, l.ip), l.id);
  } catch (const std::exception &e) {
    warn("address", e);
  }
}

void release_container(const std::string &root, const container::Record &rec) {
  try {
    // A veth pair goes with its namespace when the container's last process does: deleting
    // it here too would cost an RCU grace period (some 15 ms) on every exit.
    for (const auto &[n, l] : container_leases(root, rec))
      release(n, l);
  } catch (const std::exception &e) {
    log::warn("unable to release the network of container ", rec.id.substr(0, 12), ": ", e.what());
  }
}

std::vector<std::pair<Network, Lease>> container_leases(const std::string &root,
                                                        const container::Record &rec) {
  std::vector<std::pair<Network, Lease>> out;
  std::string dir = root + "/net";
  // Its addresses: the first network's, and every user-defined network's.
  std::vector<std::string> ips;
  if (parse_ip(rec.ip_address))
    ips.push_back(rec.ip_address);
  auto add = [&](const container::Record &r) {
    for (const auto &e : r.networks)
      if (parse_ip(e.ip_address) && std::find(ips.begin(), ips.end(), e.ip_address) == ips.end())
        ips.push_back(e.ip_address);
  };
  add(rec);
  // koker-net attach and connect record the addresses after the caller read rec.
  if (rec.network_mode != "none" && rec.network_mode != "host")
    try {
      if (auto now = container::load(root, rec.id))
        add(*now);
    } catch (const Error &) {
    }
  if (ips.empty() || !sys::exists(dir))
    return out;
  for (const auto &bridge : sys::list_dir(dir)) {
    Network n;
    n.root = root;
    n.bridge = bridge;
    for (const auto &ip : ips)
      if (auto r = read_lease(n, ip); r && r->lease.id == rec.id)
        out.emplace_back(n, r->lease);
  }
  return out;
}

std::optional<Lease> lease_on(const Network &n, std::string_view id) {
  if (auto r = lease_of(n, id))
    return r->lease;
  return std::nullopt;
}

std::vector<Lease> leases(const Network &n) {
  std::vector<Lease> out;
  for (const auto &ip : lease_ips(n))
    if (auto r = read_lease(n, ip))
      out.push_back(r->lease);
  return out;
}

} // namespace koker::net
