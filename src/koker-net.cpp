// SPDX-License-Identifier: MIT
// koker-net: the bridge, containers' veth pairs and addresses, NAT and published ports.
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "net/attach.hpp"
#include "net/net.hpp"
#include "net/network.hpp"
#include "net/proxy.hpp"
#include "net/usermode.hpp"
#include "net/resolver.hpp"
#include <algorithm>
#include <cstdio>
#include "base/humanize.hpp"
#include "base/template.hpp"
#include "base/text.hpp"
#include <unistd.h>
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include <cstring>
#include <fcntl.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-net [OPTIONS] COMMAND [ARG...]\n"
    "\n"
    "Bridge networking for koker's containers: the bridge KOKER_BRIDGE (default koker0) on\n"
    "KOKER_SUBNET (default 10.69.0.0/16, gateway .1), NAT, addresses and published ports.\n"
    "koker-run runs koker-net attach for every container on the bridge; the rest is for\n"
    "scripts and clean-up.\n"
    "\n"
    "Commands:\n"
    "  up                          make the bridge, its address, NAT and forwarding\n"
    "  up --ipv6[=false] [--subnet V6CIDR]\n"
    "                              turn IPv6 on (off) for the bridge, kept in the store: a\n"
    "                              /64 of KOKER_NETWORK_POOL6, or the one given\n"
    "  attach CONTAINER PID        give the network namespace of process PID an eth0 on the\n"
    "                              bridge, an address and a default route; print the address\n"
    "                              (PID -: read from stdin, koker-run's way)\n"
    "  attach --ahead              koker-run's way as root (internal): stdin gives the\n"
    "                              container's record (its size on a line, then its JSON)\n"
    "                              and the path of the network namespace made for it; plug\n"
    "                              that, print the record with the addresses (the same\n"
    "                              way), then read the PID (the record is saved)\n"
    "  detach CONTAINER            take the container off the bridge; free its address\n"
    "  ls                          list containers on the bridge: address, veth, ports\n"
    "  gc                          release what containers that no longer run still hold\n"
    "  down                        remove the bridge and its rules if no container uses them\n"
    "\n"
    "User-defined networks (docker network ...; the default one is \"bridge\" above):\n"
    "  create [OPTIONS] NAME       make a network: a bridge of its own, its subnet, its rules\n"
    "  networks                    list the networks (koker network ls)\n"
    "  inspect NETWORK...          print the networks as a JSON array\n"
    "  rm NETWORK...               remove networks no container uses\n"
    "  prune                       remove every network no container uses\n"
    "  connect [--ip IP] [--ip6 IP] [--alias NAME] NETWORK CONTAINER\n"
    "                              put a container on a network too (a running one gets\n"
    "                              an interface at once: eth1, eth2...)\n"
    "  disconnect NETWORK CONTAINER  take a container off a network\n"
    "  proxy ...                   a container's [::1] ports (started by attach; internal)\n"
    "  dns NETWORK                 the network's resolver (started by the first container\n"
    "                              on it; ends with the last)\n"
    "\n"
    "Options:\n"
    "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]  attach: publish a port (repeatable)\n"
    "      --format table|json     ls: a table (default) or one JSON array; networks: a Go\n"
    "                              template too\n"
    "      --subnet CIDR           create: the subnet (default: a free one from\n"
    "                              KOKER_NETWORK_POOL, in KOKER_NETWORK_POOL_SIZE networks);\n"
    "                              an IPv6 CIDR is the --ipv6 subnet\n"
    "      --ipv6[=true|false]     create, up: an IPv6 subnet too (default: a free /64 of\n"
    "                              the host's ULA /48, KOKER_NETWORK_POOL6)\n"
    "      --gateway IP            create: the bridge's address (default the first one)\n"
    "      --ip-range CIDR         create: where containers' addresses come from\n"
    "      --internal              create: no route out of the network\n"
    "      --label K=V             create: set a label (repeatable)\n"
    "  -o, --opt K=V               create: com.docker.network.bridge.name=NAME names the bridge\n"
    "  -d, --driver bridge         create: the driver (bridge, the only one)\n"
    "      --ip IP                 connect: the container's address on the network\n"
    "      --ip6 IP                connect: its IPv6 address there (an --ipv6 network)\n"
    "      --alias NAME            connect: another name there (repeatable)\n"
    "  -f, --filter K=V            networks: name=, id=, label=K[=V], driver= (repeatable)\n"
    "                              rm: -f/--force, a missing network is no error;\n"
    "                              prune: -f/--force, do not ask\n"
    "  -q, --quiet                 print nothing but data and errors\n"
    "  -D, --debug                 trace every netlink request and iptables call\n"
    "      --root DIR              the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                  show this help\n"
    "      --version               show the version\n";

struct Args {
  std::vector<std::string> words;
  std::vector<net::Port> ports;
  std::string format;
  net::CreateRequest create;
  bool create_flags = false, force = false, names_only = false;
  std::vector<std::string> filters; // -f's values; for rm and prune -f is --force
  std::string ip;                   // connect --ip
  std::string ip6;                  // connect --ip6
  std::string ipv6;                 // up --ipv6[=true|false]: "true", "false" or not given
  std::vector<std::string> aliases; // connect --alias
  bool ahead = false;               // attach --ahead (internal: koker-run's, as root)
};

static std::pair<std::string, std::string> key_value(std::string_view kv, const char *what) {
  size_t eq = kv.find('=');
  if (kv.empty() || eq == 0)
    cli::usage_error(cat("invalid ", what, " ", printable(kv), " (want KEY=VALUE)"));
  return {std::string(kv.substr(0, eq)), eq == kv.npos ? "" : std::string(kv.substr(eq + 1))};
}

static Args parse(int argc, char **argv) {
  enum {
    OPT_FORMAT = 1,
    OPT_SUBNET,
    OPT_GATEWAY,
    OPT_RANGE,
    OPT_INTERNAL,
    OPT_IPV6,
    OPT_LABEL,
    OPT_FORCE,
    OPT_IP,
    OPT_IP6,
    OPT_ALIAS,
    OPT_AHEAD
  };
  auto opts = cli::long_options({{"publish", required_argument, nullptr, 'p'},
                                 {"format", required_argument, nullptr, OPT_FORMAT},
                                 {"subnet", required_argument, nullptr, OPT_SUBNET},
                                 {"gateway", required_argument, nullptr, OPT_GATEWAY},
                                 {"ip-range", required_argument, nullptr, OPT_RANGE},
                                 {"internal", no_argument, nullptr, OPT_INTERNAL},
                                 {"ipv6", optional_argument, nullptr, OPT_IPV6},
                                 {"label", required_argument, nullptr, OPT_LABEL},
                                 {"opt", required_argument, nullptr, 'o'},
                                 {"driver", required_argument, nullptr, 'd'},
                                 {"filter", required_argument, nullptr, 'f'},
                                 {"force", no_argument, nullptr, OPT_FORCE},
                                 {"ip", required_argument, nullptr, OPT_IP},
                                 {"ip6", required_argument, nullptr, OPT_IP6},
                                 {"alias", required_argument, nullptr, OPT_ALIAS},
                                 {"ahead", no_argument, nullptr, OPT_AHEAD}});
  // -f is --filter for networks, --force for rm and prune (docker's): an optional value.
  std::string shorts = std::string(cli::COMMON_SHORT) + "p:o:d:f::";
  Args a;
  for (;;) {
    int c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr);
    if (c == -1) {
      if (optind >= argc)
        break;
      if (std::strcmp(argv[optind], "--") == 0) {
        a.words.insert(a.words.end(), argv + optind + 1, argv + argc);
        break;
      }
      a.words.emplace_back(argv[optind++]);
      continue;
    }
    if (c == 'q')
      a.names_only = true; // networks -q: the IDs only (and quiet, below)
    if (cli::handle_common(c, optarg))
      continue;
    if (c >= OPT_SUBNET && c <= OPT_LABEL)
      a.create_flags = true;
    switch (c) {
    case OPT_SUBNET: // docker's --subnet, once for each family
      (std::strchr(optarg, ':') ? a.create.subnet6 : a.create.subnet) = optarg;
      break;
    case OPT_IPV6: // docker's boolean flag: --ipv6, --ipv6=true, --ipv6=false
      if (optarg && std::strcmp(optarg, "true") != 0 && std::strcmp(optarg, "false") != 0)
        cli::usage_error(cat("invalid --ipv6 value ", printable(optarg), " (true or false)"));
      a.ipv6 = optarg ? optarg : "true";
      a.create.ipv6 = a.ipv6 == "true";
      break;
    case OPT_GATEWAY: a.create.gateway = optarg; break;
    case OPT_RANGE: a.create.ip_range = optarg; break;
    case OPT_INTERNAL: a.create.internal = true; break;
    case OPT_LABEL: a.create.labels.insert(key_value(optarg, "label")); break;
    case 'o': {
      auto kv = key_value(optarg, "option");
      a.create_flags = true;
      if (kv.first == "com.docker.network.bridge.name")
        a.create.bridge = kv.second;
      a.create.options.insert(kv);
      break;
    }
    case 'd':
      a.create_flags = true;
      if (std::strcmp(optarg, "bridge") != 0)
        cli::usage_error(cat("unknown network driver ", printable(optarg), " (koker has bridge)"));
      break;
    case 'f':
      // "-f" alone, or followed by an operand, is --force; "-fVALUE" or "-f VALUE" with a
      // K=V value is a filter.
      if (optarg) {
        a.filters.emplace_back(optarg);
      } else if (optind < argc && std::strchr(argv[optind], '=') && argv[optind][0] != '-') {
        a.filters.emplace_back(argv[optind++]);
      } else {
        a.force = true;
      }
      break;
    case OPT_FORCE: a.force = true; break;
    case OPT_IP:
      if (!net::parse_ip(optarg))
        cli::usage_error(cat("invalid IPv4 address: ", printable(optarg)));
      a.ip = optarg;
      break;
    case OPT_IP6:
      if (!net::parse_ip6(optarg))
        cli::usage_error(cat("invalid IPv6 address: ", printable(optarg)));
      a.ip6 = optarg;
      break;
    case OPT_ALIAS:
      if (!text::is_hostname(optarg))
        cli::usage_error(cat("invalid alias ", printable(optarg)));
      a.aliases.emplace_back(optarg);
      break;
    case 'p':
      try {
        a.ports.push_back(net::parse_port(optarg));
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    case OPT_FORMAT:
      a.format = optarg;
      break;
    case OPT_AHEAD: a.ahead = true; break;
    default:
      cli::bad_option(c, argv);
    }
  }
  return a;
}

static std::string pad(std::string s, size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

static void list(const std::string &root, const net::Network &n, const std::string &format) {
  json::Value all = json::Value::array();
  std::vector<std::vector<std::string>> rows = {
      {"CONTAINER ID", "NAME", "ADDRESS", "VETH", "PORTS"}};
  for (const auto &l : net::leases(n)) {
    auto rec = container::load(root, l.id);
    std::string name = rec ? rec->name : "";
    std::string ports;
    json::Value jports = json::Value::array();
    for (const auto &p : l.ports) {
      ports += (ports.empty() ? "" : ", ") + net::port_string(p);
      jports.push(json::Value(net::port_string(p)));
    }
    rows.push_back({l.id.substr(0, 12), name, l.ip, l.veth, ports});
    json::Value v = json::Value::object();
    v.set("Id", l.id);
    v.set("Name", name);
    v.set("Bridge", n.bridge);
    v.set("IPAddress", l.ip);
    v.set("Veth", l.veth);
    v.set("Ports", std::move(jports));
    all.push(std::move(v));
  }
  if (format == "json") {
    out::line(all.dump(2));
    return;
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size() + 3);
  for (const auto &row : rows) {
    std::string line;
    for (size_t i = 0; i + 1 < row.size(); ++i)
      line += pad(row[i], width[i]);
    out::line(line + row.back());
  }
}

// Puts the container whose first process is pid on n as interface ifname: the lease (want_ip
// if given), the veth, the address. The rollback takes them away again.
// An address (and the ports) reserved on a network, with an undo step that releases it and
// deletes the veth that connect may have made.
static net::Lease reserve(const net::Network &n, const std::string &id,
                          const std::vector<net::Port> &ports, const std::string &want_ip,
                          const std::string &want_ip6, sys::Rollback &undo,
                          const std::vector<std::string> &veths_taken = {}) {
  net::Lease l = net::reserve(n, id, ports, want_ip, want_ip6, veths_taken);
  undo.add("release " + l.ip, [n, l] {
    net::delete_veth(l.veth);
    net::release(n, l);
  });
  return l;
}

static net::Lease join(const net::Network &n, const std::string &id, int netns,
                       const std::string &ifname, const std::vector<net::Port> &ports,
                       const std::string &want_ip, const std::string &want_ip6,
                       sys::Rollback &undo) {
  net::Lease l = reserve(n, id, ports, want_ip, want_ip6, undo);
  net::connect(n, l, netns, ifname);
  return l;
}

// The endpoint's addresses once joined, as inspect shows them.
static void fill_endpoint(container::Endpoint &e, const net::NetworkRecord &r,
                          const net::Network &n, const net::Lease &l) {
  e.network_id = r.id;
  e.ip_address = l.ip;
  e.gateway = r.gateway;
  e.prefix = static_cast<int>(n.subnet.prefix);
  e.ip6_address = l.ip6;
  e.gateway6 = r.gateway6;
  e.prefix6 = n.subnet6 ? static_cast<int>(n.subnet6->prefix) : 0;
  uint32_t ip = *net::parse_ip(l.ip);
  char mac[18];
  std::snprintf(mac, sizeof mac, "02:42:%02x:%02x:%02x:%02x", (ip >> 24) & 0xff, (ip >> 16) & 0xff,
                (ip >> 8) & 0xff, ip & 0xff);
  e.mac = mac;
}

static net::NetworkRecord need_network(const std::string &root, const std::string &name) {
  auto r = net::find_network(root, name);
  if (!r)
    fail("network ", name, " not found");
  return *r;
}

// The PID of "attach CONTAINER PID", or read from stdin for "-": koker-run starts koker-net
// before the container exists (net/attach.hpp) and writes it once it does. 0: the end of the
// input without one (koker-run gave up: nothing to do, or to undo).
static int attach_pid(const std::string &word) {
  std::string pid_text = word;
  if (pid_text == "-") {
    pid_text = sys::read_line(0, 33, "the process id from standard input");
    if (pid_text.empty())
      return 0;
  }
  auto pid = sys::parse_uint(pid_text);
  if (!pid || *pid == 0 || *pid > 0x7fffffff)
    cli::usage_error(cat("not a process id: ", printable(pid_text)));
  return static_cast<int>(*pid);
}

// attach CONTAINER PID: the container's networks in order, eth0 first (the default bridge
// for network mode "bridge", then each user-defined network), each reserved, then plugged;
// the record gets the addresses; all undone if one fails. Prints the first address.
// attach --ahead: the same for the record koker-run has not saved yet and the network
// namespace it made for the container, both from stdin, before the container exists:
// koker-run builds it meanwhile (the record comes first, so that the addresses are reserved
// while the namespace is made). The record with the addresses goes back to koker-run, which
// saves it; the PID then says it is saved (and the container runs), and the proxies of
// published ports need it. The end of the input before the PID: koker-run gave up, and all
// is undone.
static void attach(const net::Network &n, const Args &a) {
  int pid = 0;
  container::Record rec;
  std::vector<net::Port> ports = a.ports;
  if (a.ahead) {
    auto got = net::read_record(0, "standard input");
    if (!got)
      return; // koker-run gave up before it said which
    rec = std::move(*got);
    for (const auto &p : rec.publish)
      ports.push_back(net::parse_port(p));
  } else {
    cli::want_operands(a.words, 2, a.words.size() < 2 ? "CONTAINER" : "PID");
    if ((pid = attach_pid(a.words[2])) == 0)
      return;
    rec = container::get(n.root, a.words[1]);
  }
  if (!rec.ip_address.empty())
    fail("container ", rec.id.substr(0, 12), " is attached already (", rec.ip_address,
         "): detach it first");
  const std::vector<net::Port> published = ports;
  sys::Rollback undo;
  struct Plug {
    net::Network network;
    net::Lease lease;
    container::Endpoint *endpoint; // a user-defined network's; none for the default bridge
    net::NetworkRecord record;
  };
  std::vector<Plug> plugs;
  if (rec.network_mode == "bridge" || rec.networks.empty()) {
    plugs.push_back({n, reserve(n, rec.id, ports, "", "", undo), nullptr, {}});
    ports.clear(); // published on the first network only
  }
  for (auto &e : rec.networks) {
    net::NetworkRecord r = need_network(n.root, e.network);
    net::Network un = net::network_of(n.root, r);
    std::vector<std::string> veths;
    for (const auto &p : plugs)
      veths.push_back(p.lease.veth);
    plugs.push_back(
        {un, reserve(un, rec.id, ports, e.requested_ip, e.requested_ip6, undo, veths), &e, r});
    ports.clear();
  }
  Fd netns;
  if (a.ahead) {
    std::string path = sys::read_line(0, 64, "the network namespace's path from standard input");
    if (path.empty())
      return; // koker-run gave up: undo takes all back
    netns = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns)
      sys_fail("unable to open the network namespace made ahead, ", printable(path));
  } else {
    netns = net::open_namespace(pid);
  }
  for (size_t i = 0; i < plugs.size(); ++i) {
    Plug &p = plugs[i];
    net::connect(p.network, p.lease, netns.get(), cat("eth", i));
    if (p.endpoint)
      fill_endpoint(*p.endpoint, p.record, p.network, p.lease);
    else
      rec.ip6_address = p.lease.ip6; // the default bridge's (user networks' are in networks)
    if (rec.ip_address.empty())
      rec.ip_address = p.lease.ip;
  }
  netns.reset();
  rec.publish.clear();
  for (const auto &p : published)
    rec.publish.push_back(net::port_string(p));
  if (a.ahead) {
    sys::write_fd(1, net::record_frame(rec), "standard output");
    if ((pid = attach_pid("-")) == 0)
      return; // koker-run gave up: undo takes all back
  }
  // [::1] has no DNAT to a container: a proxy of koker-net's own (net/proxy.hpp), which
  // watches the container's process.
  for (const auto &p : plugs)
    net::start_proxy(p.network, p.lease, pid);
  if (!a.ahead) // ahead, koker-run saved the record with the addresses
    container::update(n.root, rec.id, [&](container::Record &r) {
      r.ip_address = rec.ip_address;
      r.ip6_address = rec.ip6_address;
      r.networks = rec.networks;
      r.publish = rec.publish;
    });
  undo.dismiss();
  for (const auto &p : plugs)
    if (p.endpoint)
      net::ensure_resolver(n.root, p.record);
  if (!a.ahead)
    out::line(rec.ip_address);
}

// connect [--ip IP] [--alias A]... NETWORK CONTAINER: a running container gets one more
// interface (the next free ethN) on the network; a stopped one joins it at its next start.
static void connect_container(const std::string &root, const Args &a) {
  cli::want_operands(a.words, 2, a.words.size() < 2 ? "NETWORK" : "CONTAINER");
  if (a.words[1] == "bridge" || a.words[1] == "host" || a.words[1] == "none")
    fail("koker connects containers to user-defined networks only, not to ", a.words[1]);
  net::NetworkRecord r = need_network(root, a.words[1]);
  container::Record rec = container::get(root, a.words[2]);
  if (rec.network_mode == "host" || rec.network_mode == "none" ||
      net::usermode::is_usermode(rec.network_mode))
    fail("container ", rec.id.substr(0, 12), " has network mode ", rec.network_mode,
         ": it cannot be connected to a network");
  for (const auto &e : rec.networks)
    if (e.network == r.name)
      fail("endpoint with name ", rec.name, " already exists in network ", r.name);
  container::Endpoint e;
  e.network = r.name;
  e.network_id = r.id;
  e.requested_ip = a.ip;
  e.requested_ip6 = a.ip6;
  e.aliases = a.aliases;
  sys::Rollback undo;
  bool running = rec.status == "running" && container::process_alive(rec.pid, rec.pid_start);
  if (running) {
    net::Network n = net::network_of(root, r);
    Fd netns = net::open_namespace(rec.pid);
    net::Lease l = join(n, rec.id, netns.get(), net::free_ifname(rec.pid), {}, a.ip, a.ip6, undo);
    net::start_proxy(n, l, rec.pid);
    fill_endpoint(e, r, n, l);
  }
  bool gone = false;
  container::update(root, rec.id, [&](container::Record &now) {
    if ((gone = std::any_of(now.networks.begin(), now.networks.end(),
                            [&](const container::Endpoint &x) { return x.network == r.name; })))
      return;
    now.networks.push_back(e);
    if (now.ip_address.empty())
      now.ip_address = e.ip_address;
  });
  if (gone)
    fail("endpoint with name ", rec.name, " already exists in network ", r.name);
  undo.dismiss();
  if (running)
    net::ensure_resolver(root, r);
}

// disconnect NETWORK CONTAINER: the interface and the address on that network go (at once for
// a running container), and the network from its record.
static void disconnect_container(const std::string &root, const Args &a) {
  cli::want_operands(a.words, 2, a.words.size() < 2 ? "NETWORK" : "CONTAINER");
  if (a.words[1] == "bridge" || a.words[1] == "host" || a.words[1] == "none")
    fail("koker disconnects containers from user-defined networks only, not from ", a.words[1]);
  net::NetworkRecord r = need_network(root, a.words[1]);
  container::Record rec = container::get(root, a.words[2]);
  auto it = std::find_if(rec.networks.begin(), rec.networks.end(),
                         [&](const container::Endpoint &x) { return x.network == r.name; });
  if (it == rec.networks.end())
    fail("container ", rec.id.substr(0, 12), " is not connected to network ", r.name);
  if (rec.networks.size() == 1 && rec.network_mode != "bridge")
    fail("container ", rec.id.substr(0, 12), " is on network ", r.name,
         " only: koker keeps a container on one network at least");
  net::Network n = net::network_of(root, r);
  if (auto held = net::lease_on(n, rec.id)) {
    if (container::process_alive(rec.pid, rec.pid_start))
      net::delete_veth(held->veth);
    net::release(n, *held);
  }
  container::update(root, rec.id, [&](container::Record &now) {
    std::string was;
    for (auto i = now.networks.begin(); i != now.networks.end(); ++i)
      if (i->network == r.name) {
        was = i->ip_address;
        now.networks.erase(i);
        break;
      }
    if (!was.empty() && now.ip_address == was)
      now.ip_address = now.networks.empty() ? "" : now.networks[0].ip_address;
    if (now.network_mode == r.name && !now.networks.empty())
      now.network_mode = now.networks[0].network;
  });
}

// detach CONTAINER: off the bridge (if it still runs), its address and ports released.
static void detach(const net::Network &n, const Args &a) {
  cli::want_operands(a.words, 1, "CONTAINER");
  container::Record rec = container::get(n.root, a.words[1]);
  if (rec.ip_address.empty() && rec.networks.empty())
    fail("container ", rec.id.substr(0, 12), " has no address on a bridge");
  if (container::process_alive(rec.pid, rec.pid_start))
    net::unplug(n.root, rec);
  net::release_container(n.root, rec);
  container::update(n.root, rec.id, [](container::Record &r) {
    r.ip_address.clear();
    r.ip6_address.clear();
    r.publish.clear();
    for (auto &e : r.networks)
      e.ip_address.clear();
  });
  out::line(a.words[1]);
}

// gc: first what killed supervisors left (lifecycle::settle: cgroups and records too, --rm
// containers removed), then what the bridges' files and rules name of containers that no
// longer run. Prints the ID of each container whose address was released.
static void gc(const std::string &root, bool print = true) {
  for (const auto &rec : container::list(root))
    if (container::orphaned(rec)) {
      lifecycle::settle(root, rec);
      if (!rec.ip_address.empty() && print)
        out::line(rec.id);
    }
  for (const auto &id : net::gc(root))
    if (print)
      out::line(id);
  // A resolver killed while its network is in use comes back.
  for (const auto &r : net::list_networks(root))
    if (net::network_in_use(net::network_of(root, r)))
      net::ensure_resolver(root, r);
}

// ---------------------------------------------------------------- user-defined networks

// A network as network ls shows it; rec null: the default one.
static json::Value network_row(const std::string &root, const net::NetworkRecord *rec) {
  json::Value full = net::network_json(root, rec);
  json::Value v = json::Value::object();
  std::string id = full.get_string("Id");
  v.set("ID", id.substr(0, 12));
  v.set("Name", full.get_string("Name"));
  v.set("Driver", "bridge");
  v.set("Scope", "local");
  const json::Value *ipv6 = full.find("EnableIPv6");
  v.set("IPv6", ipv6 && ipv6->type() == json::Value::Type::boolean && ipv6->as_bool() ? "true" : "false");
  v.set("Internal", rec && rec->internal ? "true" : "false");
  std::string labels;
  if (rec)
    for (const auto &[k, val] : rec->labels)
      labels += (labels.empty() ? "" : ",") + k + "=" + val;
  v.set("Labels", labels);
  v.set("CreatedAt", full.get_string("Created"));
  v.set("FullID", id);
  return v;
}

static bool matches(const std::vector<std::string> &filters, const json::Value &row,
                    const net::NetworkRecord *rec) {
  // docker: the values of one key are alternatives, different keys must all match.
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto &f : filters) {
    size_t eq = f.find('=');
    if (eq == std::string::npos)
      cli::usage_error(cat("bad format of filter ", printable(f), " (expected name=value)"));
    std::string key = f.substr(0, eq);
    if (key != "name" && key != "id" && key != "label" && key != "driver" && key != "type")
      cli::usage_error(cat("invalid filter '", printable(key), "'"));
    by_key[key].push_back(f.substr(eq + 1));
  }
  for (const auto &[key, values] : by_key) {
    bool any = false;
    for (const auto &v : values) {
      if (key == "name")
        any |= row.get_string("Name").find(v) != std::string::npos;
      else if (key == "id")
        any |= text::starts_with(row.get_string("FullID"), v);
      else if (key == "driver")
        any |= v == "bridge";
      else if (key == "type")
        any |= v == (rec ? "custom" : "builtin");
      else if (key == "label" && rec) {
        size_t eq = v.find('=');
        auto it = rec->labels.find(v.substr(0, eq));
        any |= it != rec->labels.end() && (eq == std::string::npos || it->second == v.substr(eq + 1));
      }
    }
    if (!any)
      return false;
  }
  return true;
}

static void networks(const std::string &root, const Args &a) {
  std::vector<net::NetworkRecord> recs = net::list_networks(root);
  std::vector<json::Value> rows;
  std::vector<const net::NetworkRecord *> of;
  for (size_t i = 0; i <= recs.size(); ++i) {
    const net::NetworkRecord *rec = i == 0 ? nullptr : &recs[i - 1];
    json::Value row = network_row(root, rec);
    if (matches(a.filters, row, rec)) {
      rows.push_back(std::move(row));
      of.push_back(rec);
    }
  }
  if (a.names_only) {
    for (const auto &r : rows)
      out::line(r.get_string("ID"));
    return;
  }
  tmpl::Listing listing = tmpl::parse_listing(a.format.empty() ? "table" : a.format);
  if (listing.kind == tmpl::Listing::Kind::json) {
    json::Value all = json::Value::array();
    for (size_t i = 0; i < rows.size(); ++i)
      all.push(net::network_json(root, of[i]));
    out::line(all.dump(2));
  } else if (listing.kind == tmpl::Listing::Kind::custom) {
    json::Value h = json::Value::object();
    for (auto [field, title] :
         {std::pair{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"},
          {"Scope", "SCOPE"}, {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"},
          {"CreatedAt", "CREATED AT"}})
      h.set(field, title);
    out::text(tmpl::render_listing(listing, h, rows, [](size_t, bool) {
      tmpl::Options o;
      o.strict = true;
      return o;
    }));
  } else {
    std::vector<std::vector<std::string>> table = {{"NETWORK ID", "NAME", "DRIVER", "SCOPE"}};
    for (const auto &r : rows)
      table.push_back({r.get_string("ID"), r.get_string("Name"), "bridge", "local"});
    out::text(render_table(table));
  }
}

// The network an operand names: its record, or nothing for the default one.
static std::optional<net::NetworkRecord> lookup(const std::string &root, const std::string &name,
                                                bool &is_default) {
  is_default = name == "bridge";
  if (is_default)
    return std::nullopt;
  auto r = net::find_network(root, name);
  if (!r)
    fail("network ", name, " not found");
  return r;
}

static int inspect(const std::string &root, const Args &a) {
  json::Value list = json::Value::array();
  int rc = 0;
  for (size_t i = 1; i < a.words.size(); ++i) {
    try {
      bool is_default = false;
      auto r = lookup(root, a.words[i], is_default);
      list.push(net::network_json(root, r ? &*r : nullptr));
    } catch (const Error &e) {
      log::fatal(e.what());
      rc = 125;
    }
  }
  out::line(list.dump(4));
  return rc;
}

static int remove(const std::string &root, const Args &a) {
  int rc = 0;
  for (size_t i = 1; i < a.words.size(); ++i) {
    try {
      auto r = net::find_network(root, a.words[i]);
      if (!r && a.words[i] == "bridge")
        fail("bridge is a pre-defined network and cannot be removed");
      if (!r && a.force)
        continue;
      if (!r)
        fail("network ", a.words[i], " not found");
      net::remove_network(root, *r);
      out::line(a.words[i]);
    } catch (const Error &e) {
      log::fatal(e.what());
      rc = 125;
    }
  }
  return rc;
}

static int prune(const std::string &root, const Args &a) {
  if (!a.force) {
    sys::write_fd(2,
                  "WARNING! This will remove all custom networks not used by at least one "
                  "container.\nAre you sure you want to continue? [y/N] ",
                  "stderr");
    char answer[16] = {};
    ssize_t n = ::read(0, answer, sizeof answer - 1);
    if (n <= 0 || (answer[0] != 'y' && answer[0] != 'Y'))
      return 0;
  }
  // What killed tools left first (leases of containers that no longer run).
  gc(root, false);
  std::vector<std::string> removed;
  for (const auto &r : net::list_networks(root)) {
    try {
      if (net::network_in_use(net::network_of(root, r)))
        continue;
      net::remove_network(root, r);
      removed.push_back(r.name);
    } catch (const Error &e) {
      log::warn(e.what());
    }
  }
  if (!removed.empty()) {
    out::line("Deleted Networks:");
    for (const auto &name : removed)
      out::line(name);
  }
  return 0;
}

// Every rule between the command and its flags, checked before the host is touched.
static void check_command(const Args &a) {
  if (a.words.empty())
    cli::usage_error("COMMAND is missing");
  const std::string &cmd = a.words[0];
  if (!a.ports.empty() && cmd != "attach")
    cli::usage_error("--publish applies to attach only");
  if (a.ahead && cmd != "attach")
    cli::usage_error("--ahead applies to attach only");
  if (a.ahead && (a.words.size() != 1 || !a.ports.empty()))
    cli::usage_error("attach --ahead takes no operands or ports: they come with the record");
  try {
    net::check_distinct_host_ports(a.ports);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  bool user_cmd = cmd == "proxy" || cmd == "create" || cmd == "networks" || cmd == "inspect" || cmd == "rm" ||
                  cmd == "prune" || cmd == "connect" || cmd == "disconnect" || cmd == "dns";
  if ((!a.ip.empty() || !a.ip6.empty() || !a.aliases.empty()) && cmd != "connect")
    cli::usage_error("--ip, --ip6 and --alias apply to connect only");
  if (!a.format.empty() && cmd != "ls" && cmd != "networks")
    cli::usage_error("--format applies to ls and networks only");
  if (!a.format.empty() && cmd == "ls")
    cli::check_format(a.format);
  // up takes --ipv6 and an IPv6 --subnet: the default bridge's IPv6 opt-in.
  bool up6_flags = !a.ipv6.empty() && a.create.subnet.empty() && a.create.gateway.empty() &&
                   a.create.ip_range.empty() && !a.create.internal && a.create.labels.empty() &&
                   a.create.options.empty();
  if (cmd == "up" && a.create_flags && !up6_flags)
    cli::usage_error("up takes --ipv6 and an IPv6 --subnet only");
  if (cmd == "up" && !a.create.subnet6.empty() && a.ipv6 != "true")
    cli::usage_error("an IPv6 --subnet needs --ipv6");
  if (a.create_flags && cmd != "create" && cmd != "up")
    cli::usage_error("--subnet, --gateway, --ip-range, --internal, --ipv6, --label, --opt and "
                     "--driver apply to create only");
  if (!a.filters.empty() && cmd != "networks")
    cli::usage_error("--filter applies to networks (network ls) only");
  if (a.force && cmd != "rm" && cmd != "prune")
    cli::usage_error("--force applies to rm and prune only");
  if (cmd != "up" && cmd != "down" && cmd != "attach" && cmd != "detach" && cmd != "ls" &&
      cmd != "gc" && !user_cmd)
    cli::usage_error(cat("unknown command ", printable(cmd)));
  if (cmd == "create")
    cli::want_operands(a.words, 1, "NAME");
  else if ((cmd == "rm" || cmd == "inspect") && a.words.size() < 2)
    cli::usage_error("NETWORK is missing");
  else if (cmd == "connect" || cmd == "disconnect")
    cli::want_operands(a.words, 2, a.words.size() < 2 ? "NETWORK" : "CONTAINER");
  else if (cmd == "dns")
    cli::want_operands(a.words, 1, "NETWORK");
  else if (cmd == "proxy" && a.words.size() < 5)
    cli::usage_error("proxy RECORD PID TARGET FD:PORT... (started by attach)");
  else if (cmd == "proxy")
    ;
  else if (cmd != "attach" && cmd != "detach" && cmd != "rm" && cmd != "inspect")
    cli::want_operands(a.words, 0, "");
  if (::geteuid() != 0 && cmd != "ls" && cmd != "networks" && cmd != "inspect")
    fail("koker-net ", cmd, " needs root (it changes the host's network)");
}

static int net_main(int argc, char **argv) {
  Args a = parse(argc, argv);
  check_command(a);
  const std::string &cmd = a.words[0];
  std::string root = store_root();
  sys::mkdir_p(root, 0700);
  net::Network n = net::from_env(root);
  if (cmd == "up" && !a.ipv6.empty())
    net::set_bridge_ipv6(n, a.ipv6 == "true", a.create.subnet6);
  else if (cmd == "up")
    net::up(n);
  else if (cmd == "down")
    net::down(n);
  else if (cmd == "ls")
    list(n.root, n, a.format);
  else if (cmd == "gc")
    gc(n.root);
  else if (cmd == "attach")
    attach(n, a);
  else if (cmd == "detach")
    detach(n, a);
  else if (cmd == "create") {
    net::CreateRequest req = a.create;
    req.name = a.words[1];
    out::line(net::create_network(root, req).id);
  }
  else if (cmd == "networks")
    networks(root, a);
  else if (cmd == "inspect")
    return inspect(root, a);
  else if (cmd == "rm")
    return remove(root, a);
  else if (cmd == "prune")
    return prune(root, a);
  else if (cmd == "connect")
    connect_container(n.root, a);
  else if (cmd == "disconnect")
    disconnect_container(n.root, a);
  else if (cmd == "proxy") {
    // Run by start_proxy (attach), in the background: proxy RECORD PID TARGET FD:PORT...
    auto fd = sys::parse_uint(sys::env("KOKER_PROXY_READY_FD", ""));
    ::unsetenv("KOKER_PROXY_READY_FD");
    auto pid = sys::parse_uint(a.words[2]);
    std::vector<std::pair<int, uint16_t>> listeners;
    for (size_t i = 4; i < a.words.size(); ++i) {
      auto w = text::split(a.words[i], ':');
      auto lfd = sys::parse_uint(w[0]);
      auto port = w.size() == 2 ? sys::parse_uint(w[1]) : std::nullopt;
      if (!lfd || !port || *lfd > 1023 || *port == 0 || *port > 65535)
        cli::usage_error(cat("not FD:PORT: ", printable(a.words[i])));
      listeners.emplace_back(static_cast<int>(*lfd), static_cast<uint16_t>(*port));
    }
    if (!pid || *pid == 0 || *pid > 0x7fffffff)
      cli::usage_error(cat("not a process id: ", printable(a.words[2])));
    net::serve_proxy(a.words[1], static_cast<int>(*pid), a.words[3], listeners,
                     fd && *fd < 1024 ? static_cast<int>(*fd) : -1);
  }
  else if (cmd == "dns") {
    // Run by ensure_resolver, in the background; the pipe it waits on.
    auto fd = sys::parse_uint(sys::env("KOKER_DNS_READY_FD", ""));
    ::unsetenv("KOKER_DNS_READY_FD");
    net::serve_resolver(n.root, need_network(n.root, a.words[1]),
                        fd && *fd < 1024 ? static_cast<int>(*fd) : -1);
  }
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-net", USAGE, net_main); }
