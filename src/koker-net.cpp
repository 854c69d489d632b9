// SPDX-License-Identifier: MIT
// koker-net: the bridge, containers' veth pairs and addresses, NAT and published ports.
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "net/net.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include <cstring>

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
    "  attach CONTAINER PID        give the network namespace of process PID an eth0 on the\n"
    "                              bridge, an address and a default route; print the address\n"
    "  detach CONTAINER            take the container off the bridge; free its address\n"
    "  ls                          list containers on the bridge: address, veth, ports\n"
    "  gc                          release what containers that no longer run still hold\n"
    "  down                        remove the bridge and its rules if no container uses them\n"
    "\n"
    "Options:\n"
    "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]  attach: publish a port (repeatable)\n"
    "      --format table|json     ls: a table (default) or one JSON array\n"
    "  -q, --quiet                 print nothing but data and errors\n"
    "  -D, --debug                 trace every netlink request and iptables call\n"
    "      --root DIR              the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help                  show this help\n"
    "      --version               show the version\n";

struct Args {
  std::vector<std::string> words;
  std::vector<net::Port> ports;
  std::string format;
};

static Args parse(int argc, char **argv) {
  enum { OPT_FORMAT = 1 };
  auto opts = cli::long_options({{"publish", required_argument, nullptr, 'p'},
                                 {"format", required_argument, nullptr, OPT_FORMAT}});
  std::string shorts = std::string(cli::COMMON_SHORT) + "p:";
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
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
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

// attach CONTAINER PID: reserve, plug, record; the reservation is undone if plugging fails.
static void attach(const net::Network &n, const Args &a) {
  cli::want_operands(a.words, 2, a.words.size() < 2 ? "CONTAINER" : "PID");
  auto pid = sys::parse_uint(a.words[2]);
  if (!pid || *pid == 0 || *pid > 0x7fffffff)
    cli::usage_error(cat("not a process id: ", printable(a.words[2])));
  container::Record rec = container::get(n.root, a.words[1]);
  if (!rec.ip_address.empty())
    fail("container ", rec.id.substr(0, 12), " is attached already (", rec.ip_address,
         "): detach it first");
  net::Lease l = net::reserve(n, rec.id, a.ports);
  sys::Rollback undo;
  undo.add("release " + l.ip, [&] {
    net::delete_veth(l.veth);
    net::release(n, l);
  });
  net::connect(n, l, static_cast<int>(*pid));
  container::update(n.root, rec.id, [&](container::Record &r) {
    r.network_mode = "bridge";
    r.ip_address = l.ip;
    r.publish.clear();
    for (const auto &p : l.ports)
      r.publish.push_back(net::port_string(p));
  });
  undo.dismiss();
  out::line(l.ip);
}

// detach CONTAINER: off the bridge (if it still runs), its address and ports released.
static void detach(const net::Network &n, const Args &a) {
  cli::want_operands(a.words, 1, "CONTAINER");
  container::Record rec = container::get(n.root, a.words[1]);
  if (rec.ip_address.empty())
    fail("container ", rec.id.substr(0, 12), " has no address on a bridge");
  if (container::process_alive(rec.pid, rec.pid_start))
    net::unplug(n.root, rec);
  net::release_container(n.root, rec);
  container::update(n.root, rec.id, [](container::Record &r) {
    r.ip_address.clear();
    r.publish.clear();
  });
  out::line(a.words[1]);
}

// gc: first what killed supervisors left (lifecycle::settle: cgroups and records too, --rm
// containers removed), then what the bridges' files and rules name of containers that no
// longer run. Prints the ID of each container whose address was released.
static void gc(const std::string &root) {
  for (const auto &rec : container::list(root))
    if (container::orphaned(rec)) {
      lifecycle::settle(root, rec);
      if (!rec.ip_address.empty())
        out::line(rec.id);
    }
  for (const auto &id : net::gc(root))
    out::line(id);
}

// Every rule between the command and its flags, checked before the host is touched.
static void check_command(const Args &a) {
  if (a.words.empty())
    cli::usage_error("COMMAND is missing");
  const std::string &cmd = a.words[0];
  if (!a.ports.empty() && cmd != "attach")
    cli::usage_error("--publish applies to attach only");
  try {
    net::check_distinct_host_ports(a.ports);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  if (!a.format.empty() && cmd != "ls")
    cli::usage_error("--format applies to ls only");
  if (!a.format.empty())
    cli::check_format(a.format);
  if (cmd != "up" && cmd != "down" && cmd != "attach" && cmd != "detach" && cmd != "ls" &&
      cmd != "gc")
    cli::usage_error(cat("unknown command ", printable(cmd)));
  if (cmd != "attach" && cmd != "detach")
    cli::want_operands(a.words, 0, "");
  if (::geteuid() != 0 && cmd != "ls")
    fail("koker-net ", cmd, " needs root (it changes the host's network)");
}

static int net_main(int argc, char **argv) {
  Args a = parse(argc, argv);
  check_command(a);
  const std::string &cmd = a.words[0];
  std::string root = store_root();
  sys::mkdir_p(root, 0700);
  net::Network n = net::from_env(root);
  if (cmd == "up")
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
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-net", USAGE, net_main); }
