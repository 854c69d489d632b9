// SPDX-License-Identifier: MIT
#include "net.hpp"
#include "error.hpp"
#include "log.hpp"
#include "netlink.hpp"
#include "sys.hpp"
#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::net {

namespace {

// Up and down change host-wide things (the bridge, iptables, ip_forward) that several stores
// may share: one lock for all of them, on tmpfs like the bridge itself.
constexpr const char *host_lock_dir = "/run/koker";
constexpr const char *host_lock = "/run/koker/net.lock";

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t j = text.find(sep, i);
    out.emplace_back(text.substr(i, j == std::string_view::npos ? j : j - i));
    if (j == std::string_view::npos)
      return out;
    i = j + 1;
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// The store's path as the bridge's alias records it, so that two spellings of one store match.
std::string canonical(const std::string &root) {
  char real[PATH_MAX];
  return ::realpath(root.c_str(), real) ? std::string(real) : root;
}

bool valid_bridge_name(std::string_view name) {
  // IFNAMSIZ less the NUL; the chain "KOKER-<name>" must also fit iptables' 28 characters.
  if (name.empty() || name.size() > 15)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// ---------------------------------------------------------------- iptables

struct Output {
  int status = 0;
  std::string out, err;
};

// Runs iptables or iptables-restore (always with -w: wait for the xtables lock rather than
// fail) with input on its stdin; never through a shell.
Output spawn(const char *tool, const std::vector<std::string> &args, std::string_view input = {}) {
  std::string path = cat("/usr/sbin/", tool);
  if (!sys::exists(path))
    path = cat("/sbin/", tool);
  std::vector<std::string> words{tool, "-w"};
  words.insert(words.end(), args.begin(), args.end());
  int in[2], out[2], err[2];
  check(::pipe2(in, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(out, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(err, O_CLOEXEC), "unable to create a pipe");
  pid_t pid = ::fork();
  if (pid < 0)
    sys_fail("unable to fork ", tool);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char *> argv;
    for (auto &w : words)
      argv.push_back(w.data());
    argv.push_back(nullptr);
    if (sys::exists(path))
      ::execv(path.c_str(), argv.data());
    ::execvp(tool, argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  Fd in_w(in[1]), out_r(out[0]), err_r(err[0]);
  Output o;
  try {
    // Rule batches are far smaller than a pipe's buffer, and the tools read all input before
    // writing: no deadlock between the three pipes.
    if (!input.empty())
      sys::write_fd(in_w.get(), input, tool);
    in_w.reset();
    o.out = sys::read_fd(out_r.get(), 16 << 20);
    o.err = sys::read_fd(err_r.get(), 1 << 20);
  } catch (...) {
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      sys_fail("unable to wait for ", tool);
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

Output iptables(const std::vector<std::string> &args) {
  log::debug("iptables -w ", joined(args));
  return spawn("iptables", args);
}

// Applies a batch ("*nat\n-A ...\nCOMMIT\n") in one process, atomically per table.
void iptables_restore(const std::string &batch) {
  log::debug("iptables-restore -w --noflush <<EOF\n", batch, "EOF");
  Output o = spawn("iptables-restore", {"--noflush"}, batch);
  if (o.status != 0)
    fail("iptables-restore failed: ", trim(o.err));
}

// The rules of chain in table, as iptables -S prints them ("-A CHAIN ..."); none when the
// chain does not exist.
std::vector<std::string> list_rules(const std::string &table, const std::string &chain) {
  std::vector<std::string> args = {"-t", table, "-S"};
  if (!chain.empty())
    args.push_back(chain);
  Output o = iptables(args);
  std::vector<std::string> rules;
  if (o.status != 0)
    return rules;
  for (auto &line : split(o.out, '\n'))
    if (line.rfind("-A ", 0) == 0)
      rules.push_back(line);
  return rules;
}

bool has_word(const std::string &rule, std::string_view word) {
  for (const auto &w : split(rule, ' '))
    if (w == word)
      return true;
  return false;
}

struct Rule {
  const char *table, *chain;
  bool insert; // at the top (FORWARD: before any DROP another tool added)
  std::vector<std::string> spec;
};

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
  return {
      {"nat", "PREROUTING", false, with({"-m", "addrtype", "--dst-type", "LOCAL"}, {"-j", chain})},
      {"nat", "OUTPUT", false, with({"-m", "addrtype", "--dst-type", "LOCAL"}, {"-j", chain})},
      {"nat", "POSTROUTING", false, with({"-s", sub, "!", "-o", br}, {"-j", "MASQUERADE"})},
      {"nat", "POSTROUTING", false,
       with({"-s", sub, "-o", br, "-m", "conntrack", "--ctstate", "DNAT"}, {"-j", "MASQUERADE"})},
      {"nat", "POSTROUTING", false, with({"-s", "127.0.0.0/8", "-o", br}, {"-j", "MASQUERADE"})},
      {"filter", "FORWARD", true, with({"-i", br}, {"-j", "ACCEPT"})},
      {"filter", "FORWARD", true, with({"-o", br}, {"-j", "ACCEPT"})},
  };
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

// Deletes the rules tagged koker:<id> in the bridge's chain; ids empty: those of any container
// not in keep.
void remove_container_rules(const Network &n, const std::vector<std::string> &ids,
                            const std::vector<std::string> &keep = {}) {
  std::string batch;
  for (const auto &rule : list_rules("nat", n.chain())) {
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
  if (!batch.empty())
    iptables_restore("*nat\n" + batch + "COMMIT\n");
}

// ---------------------------------------------------------------- the bridge's alias

struct Alias {
  bool koker = false;
  std::string subnet, forward, root;
};

Alias parse_alias(const std::string &text) {
  Alias a;
  if (text.rfind("koker ", 0) != 0)
    return a;
  a.koker = true;
  size_t r = text.find(" root=");
  if (r != std::string::npos)
    a.root = text.substr(r + 6);
  for (const auto &w : split(text.substr(0, r), ' ')) {
    if (w.rfind("subnet=", 0) == 0)
      a.subnet = w.substr(7);
    else if (w.rfind("forward=", 0) == 0)
      a.forward = w.substr(8);
  }
  return a;
}

std::string format_alias(const Network &n, const std::string &forward) {
  return cat("koker subnet=", n.subnet.str(), " forward=", forward, " root=", n.root);
}

// ---------------------------------------------------------------- files

void write_sysctl(const std::string &path, std::string_view value) {
  log::debug("write ", path, " ", value);
  Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f)
    sys_fail("unable to open ", path);
  sys::write_fd(f.get(), value, path);
}

std::string read_sysctl(const std::string &path) { return trim(sys::read_file(path, 64)); }

std::string lease_path(const Network &n, std::string_view ip) { return cat(n.dir(), "/", ip); }
std::string port_path(const Network &n, const Port &p) {
  return cat(n.dir(), "/ports/", p.proto, "-", p.host_port);
}

std::string lease_text(const Lease &l, int pid, uint64_t start) {
  std::string s = cat(l.id, "\n", l.veth, "\n", pid, " ", start, "\n");
  for (const auto &p : l.ports)
    s += port_string(p) + "\n";
  return s;
}

struct Recorded {
  Lease lease;
  int pid = 0;
  uint64_t pid_start = 0;
};

std::optional<Recorded> read_lease(const Network &n, const std::string &ip) {
  auto text = sys::read_file_if_exists(lease_path(n, ip), 64 << 10);
  if (!text)
    return std::nullopt;
  auto lines = split(*text, '\n');
  Recorded r;
  r.lease.ip = ip;
  r.lease.id = lines[0];
  if (lines.size() > 1)
    r.lease.veth = lines[1];
  if (lines.size() > 2) {
    auto w = split(lines[2], ' ');
    r.pid = static_cast<int>(sys::parse_uint(w[0]).value_or(0));
    r.pid_start = w.size() > 1 ? sys::parse_uint(w[1]).value_or(0) : 0;
  }
  for (size_t i = 3; i < lines.size(); ++i)
    if (!lines[i].empty())
      r.lease.ports.push_back(parse_port(lines[i]));
  return r;
}

// Creates path with O_EXCL, holding text; false if it exists.
bool create_excl(const std::string &path, const std::string &text) {
  log::debug("create ", path, " O_EXCL");
  Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!f && errno == EEXIST)
    return false;
  if (!f)
    sys_fail("unable to create ", path);
  sys::write_fd(f.get(), text, path);
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

// A fast check: the bridge exists, koker finished making it, on this subnet, for this store.
bool is_up(const Network &n, netlink::Socket &s) {
  auto link = netlink::get_link(s, n.bridge);
  if (!link || link->kind != "bridge")
    return false;
  Alias a = parse_alias(link->alias);
  return a.koker && a.subnet == n.subnet.str() && a.root == n.root;
}

// True while the container holding a lease may still use it.
bool in_use(const std::string &root, const Recorded &r) {
  auto rec = container::load(root, r.lease.id);
  bool reserver_alive = container::process_alive(r.pid, r.pid_start);
  if (!rec) // not saved yet by a koker-run that is still starting it, or gone
    return reserver_alive && sys::exists(container::dir_of(root, r.lease.id));
  container::Record now = container::refresh(root, *rec);
  if (now.status == "running")
    return true;
  return now.status == "created" && reserver_alive;
}

} // namespace

// ---------------------------------------------------------------- parsing

std::string Subnet::str() const { return cat(netlink::ip_string(network), "/", prefix); }

std::optional<uint32_t> parse_ip(std::string_view text) {
  auto parts = split(text, '.');
  if (parts.size() != 4)
    return std::nullopt;
  uint32_t addr = 0;
  for (const auto &p : parts) {
    auto v = sys::parse_uint(p);
    if (!v || *v > 255 || p.size() > 3 || (p.size() > 1 && p[0] == '0'))
      return std::nullopt;
    addr = addr << 8 | static_cast<uint32_t>(*v);
  }
  return addr;
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
  std::vector<std::string> parts;
  size_t arrow = rest.find("->");
  if (arrow != std::string_view::npos) { // docker's display form
    parts = split(rest.substr(0, arrow), ':');
    parts.emplace_back(rest.substr(arrow + 2));
  } else {
    parts = split(rest, ':');
  }
  if (parts.size() == 1)
    return bad("koker needs a host port");
  if (parts.size() > 3 || rest.find('[') != std::string_view::npos)
    return bad("IPv6 addresses are not supported");
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
  return cat(p.host_ip, ":", p.host_port, "->", p.port, "/", p.proto);
}

Network from_env(const std::string &root) {
  Network n;
  n.root = canonical(root);
  n.bridge = sys::env("KOKER_BRIDGE", "koker0");
  if (!valid_bridge_name(n.bridge))
    fail("invalid KOKER_BRIDGE ", printable(n.bridge), ": at most 15 characters of [a-zA-Z0-9_.-]");
  n.subnet = parse_subnet(sys::env("KOKER_SUBNET", "10.69.0.0/16"));
  if (n.root.size() > 200)
    fail("the store's path is too long to record on the bridge (200 characters at most)");
  return n;
}

// ---------------------------------------------------------------- up and down

void up(const Network &n) {
  sys::mkdir_p(host_lock_dir, 0700);
  sys::FileLock host(host_lock, sys::FileLock::Mode::exclusive);
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
    size_t used = lease_ips(theirs).size();
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
  netlink::add_address(s, *link, n.subnet.gateway(), n.subnet.prefix);
  write_sysctl(cat("/proc/sys/net/ipv4/conf/", n.bridge, "/route_localnet"), "1");
  netlink::set_up(s, n.bridge);

  const std::string ip_forward = "/proc/sys/net/ipv4/ip_forward";
  std::string now = read_sysctl(ip_forward);
  if (forward.empty())
    forward = now;
  if (now != "1")
    write_sysctl(ip_forward, "1");

  // The chain for published ports, then each bridge rule unless it is there already (-C):
  // under the host lock, so two first runs never add one twice.
  Output o = iptables({"-t", "nat", "-N", n.chain()});
  if (o.status != 0 && o.err.find("exists") == std::string::npos)
    fail("unable to create the iptables chain ", n.chain(), ": ", trim(o.err));
  std::string nat, filter;
  for (const auto &r : bridge_rules(n)) {
    std::vector<std::string> args = {"-t", r.table, "-C", r.chain};
    args.insert(args.end(), r.spec.begin(), r.spec.end());
    if (iptables(args).status == 0)
      continue;
    std::string line = cat(r.insert ? "-I " : "-A ", r.chain, " ", joined(r.spec), "\n");
    (std::string_view(r.table) == "nat" ? nat : filter) += line;
  }
  std::string batch;
  if (!nat.empty())
    batch += "*nat\n" + nat + "COMMIT\n";
  if (!filter.empty())
    batch += "*filter\n" + filter + "COMMIT\n";
  if (!batch.empty())
    iptables_restore(batch);
  // Last: the alias marks the bridge complete, so the next run takes the fast path.
  netlink::set_alias(s, *link, format_alias(n, forward));
}

void down(const Network &n) {
  gc(n.root);
  sys::mkdir_p(host_lock_dir, 0700);
  std::optional<sys::FileLock> lock;
  if (sys::exists(n.dir()))
    lock.emplace(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
  sys::FileLock host(host_lock, sys::FileLock::Mode::exclusive);
  auto ips = lease_ips(n);
  if (!ips.empty()) {
    std::string who;
    for (const auto &ip : ips)
      if (auto r = read_lease(n, ip))
        who += cat(who.empty() ? "" : ", ", r->lease.id.substr(0, 12), " (", ip, ")");
    fail("bridge ", n.bridge, " still serves ", ips.size(), " container(s): ", who,
         "; stop them first");
  }
  netlink::Socket s;
  auto link = netlink::get_link(s, n.bridge);
  Alias a = link ? parse_alias(link->alias) : Alias{};
  if (a.koker && a.root != n.root) {
    Network theirs = n;
    theirs.root = a.root;
    if (!lease_ips(theirs).empty())
      fail("bridge ", n.bridge, " serves containers of the store ", a.root, ": not removing it");
  }
  std::string nat, filter;
  for (const auto &rule : list_rules("nat", ""))
    if (is_bridge_rule(n, rule))
      nat += "-D" + rule.substr(2) + "\n";
  bool chain = iptables({"-t", "nat", "-S", n.chain()}).status == 0;
  if (chain)
    nat += cat("-F ", n.chain(), "\n-X ", n.chain(), "\n");
  for (const auto &rule : list_rules("filter", "FORWARD"))
    if (is_bridge_rule(n, rule))
      filter += "-D" + rule.substr(2) + "\n";
  std::string batch;
  if (!nat.empty())
    batch += "*nat\n" + nat + "COMMIT\n";
  if (!filter.empty())
    batch += "*filter\n" + filter + "COMMIT\n";
  if (!batch.empty())
    iptables_restore(batch);
  bool ours = link && link->kind == "bridge" && (a.koker || link->alias.empty());
  if (link && !ours)
    fail("bridge ", n.bridge, " was not made by koker: not removing it");
  if (link)
    netlink::delete_link(s, n.bridge);
  bool others = false;
  for (const auto &l : netlink::list_links(s))
    others |= l.name != n.bridge && parse_alias(l.alias).koker;
  const std::string ip_forward = "/proc/sys/net/ipv4/ip_forward";
  if (a.forward == "0" && !others && read_sysctl(ip_forward) != "0")
    write_sysctl(ip_forward, "0");
  log::debug("rm -rf ", n.dir());
  sys::rm_rf(n.dir());
}

// ---------------------------------------------------------------- containers

Lease reserve(const Network &n, std::string_view id, const std::vector<Port> &ports) {
  sys::mkdir_p(n.root + "/net", 0700);
  sys::mkdir_p(n.dir(), 0700);
  sys::FileLock lock(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
  netlink::Socket s;
  if (!is_up(n, s))
    up(n);
  Lease l;
  l.id = std::string(id);
  l.ports = ports;
  // The host end's name: "veth" and 11 hex of the ID (IFNAMSIZ), another 11 if a link has it.
  for (size_t k = 0; k + 11 <= l.id.size() && l.veth.empty(); k += 11) {
    std::string name = "veth" + l.id.substr(k, 11);
    if (!netlink::get_link(s, name))
      l.veth = name;
  }
  if (l.veth.empty())
    fail("unable to name the veth of container ", l.id.substr(0, 12), ": every name is taken");

  int pid = static_cast<int>(::getpid());
  std::string text = lease_text(l, pid, container::process_start_time(pid));
  uint32_t first = n.subnet.gateway() + 1, last = n.subnet.broadcast() - 1;
  uint32_t count = last - first + 1;
  // Start after the last address handed out (CNI host-local's last_reserved_ip), so a
  // released address is not reused at once.
  std::string last_path = n.dir() + "/last_reserved_ip";
  uint32_t start = first;
  if (auto prev = sys::read_file_if_exists(last_path, 64))
    if (auto ip = parse_ip(trim(*prev)); ip && *ip >= first && *ip < last)
      start = *ip + 1;
  for (int attempt = 0; attempt < 2 && l.ip.empty(); ++attempt) {
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t ip = first + (start - first + i) % count;
      if (create_excl(lease_path(n, netlink::ip_string(ip)), text)) {
        l.ip = netlink::ip_string(ip);
        break;
      }
    }
    if (l.ip.empty() && attempt == 0) {
      // Full: maybe of containers that died without releasing (a reboot, kill -9).
      lock.unlock();
      gc(n.root);
      lock.relock(sys::FileLock::Mode::exclusive);
    }
  }
  if (l.ip.empty())
    fail("no free address on bridge ", n.bridge, ": all ", count, " addresses of ", n.subnet.str(),
         " are in use");
  sys::Rollback undo;
  undo.add("unlink " + lease_path(n, l.ip), [&] { unlink_if_owned(lease_path(n, l.ip), l.id); });
  sys::write_file_atomic(last_path, l.ip + "\n", 0600, false);
  if (!ports.empty())
    sys::mkdir_p(n.dir() + "/ports", 0700);
  for (const auto &p : ports) {
    std::string path = port_path(n, p);
    if (!create_excl(path, l.id + "\n")) {
      auto owner = sys::read_file_if_exists(path, 128).value_or("?");
      fail("port ", p.host_port, "/", p.proto, " is already published by container ",
           owner.substr(0, 12));
    }
    undo.add("unlink " + path, [path, &l] { unlink_if_owned(path, l.id); });
  }
  undo.dismiss();
  return l;
}

void connect(const Network &n, const Lease &l, int pid, bool inside_too) {
  std::string ns_path = cat("/proc/", pid, "/ns/net");
  Fd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns)
    sys_fail("unable to open ", ns_path);
  // Configuring eth0, addresses and routes "inside" the host's own namespace would rewire
  // the host.
  struct stat theirs, ours;
  check(::fstat(ns.get(), &theirs), "unable to stat ", ns_path);
  check(::stat("/proc/self/ns/net", &ours), "unable to stat /proc/self/ns/net");
  if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
    fail("process ", pid, " is in the host's network namespace: it needs one of its own");
  netlink::Socket host;
  auto bridge = netlink::get_link(host, n.bridge);
  if (!bridge)
    fail("bridge ", n.bridge, " is gone (koker-net down?)");
  if (!netlink::add_veth(host, l.veth, *bridge, "eth0", ns.get()))
    fail("unable to create veth ", l.veth, ": a link of that name exists already");
  netlink::Socket inside(ns.get());
  if (inside_too) {
    netlink::set_up(inside, "lo");
    // /proc/sys/net belongs to the namespace of whoever opens it.
    Fd f;
    netlink::in_netns(ns.get(), [&] {
      f = Fd(::open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC));
    });
    log::debug("write ", pid, "'s /proc/sys/net/ipv4/ping_group_range 0 2147483647");
    if (!f)
      sys_fail("unable to open the container's ping_group_range");
    sys::write_fd(f.get(), "0 2147483647", "ping_group_range");
  }
  netlink::set_up(inside, "eth0");
  auto eth0 = netlink::get_link(inside, "eth0");
  if (!eth0)
    fail("eth0 did not appear in the container's network namespace");
  netlink::add_address(inside, *eth0, *parse_ip(l.ip), n.subnet.prefix);
  netlink::add_default_route(inside, n.subnet.gateway());
  if (!l.ports.empty()) {
    std::string batch = "*nat\n";
    for (const auto &p : l.ports)
      batch += port_rule(n, l, p) + "\n";
    iptables_restore(batch + "COMMIT\n");
  }
}

void release(const Network &n, const Lease &l, bool delete_veth) {
  auto warn = [&](const char *what, const std::exception &e) {
    log::warn("unable to release the ", what, " of container ", l.id.substr(0, 12), ": ", e.what());
  };
  try {
    if (!l.veth.empty() && delete_veth) {
      netlink::Socket s;
      netlink::delete_link(s, l.veth);
    }
  } catch (const std::exception &e) {
    warn("veth", e);
  }
  try {
    if (!l.ports.empty()) {
      remove_container_rules(n, {l.id});
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
  if (rec.ip_address.empty() || !parse_ip(rec.ip_address))
    return;
  try {
    std::string dir = root + "/net";
    if (!sys::exists(dir))
      return;
    for (const auto &bridge : sys::list_dir(dir)) {
      Network n;
      n.root = root;
      n.bridge = bridge;
      auto r = read_lease(n, rec.ip_address);
      // A veth pair goes with its namespace when the container's last process does: deleting
      // it here too would cost an RCU grace period (some 15 ms) on every exit.
      if (r && r->lease.id == rec.id)
        release(n, r->lease, container::process_alive(rec.pid, rec.pid_start));
    }
  } catch (const std::exception &e) {
    log::warn("unable to release the network of container ", rec.id.substr(0, 12), ": ", e.what());
  }
}

std::vector<Lease> leases(const Network &n) {
  std::vector<Lease> out;
  for (const auto &ip : lease_ips(n))
    if (auto r = read_lease(n, ip))
      out.push_back(r->lease);
  return out;
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
      if (!r)
        continue;
      if (in_use(root, *r)) {
        live_ids.push_back(r->lease.id);
        live_veths.push_back(r->lease.veth);
        continue;
      }
      log::debug("gc: container ", r->lease.id.substr(0, 12), " no longer runs: releasing ", ip);
      release(n, r->lease, true);
      released.push_back(r->lease.id);
    }
    // What a crash left without a lease: rules of unknown containers, veths on the bridge.
    // A bridge another store took over since (its alias names that store) is theirs.
    netlink::Socket s;
    auto br = netlink::get_link(s, bridge);
    Alias a = br ? parse_alias(br->alias) : Alias{};
    if (a.koker && a.root != canonical(root))
      continue;
    remove_container_rules(n, {}, live_ids);
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
