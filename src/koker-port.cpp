// SPDX-License-Identifier: MIT
// koker-port: a container's published ports, as docker port prints them.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "net/address.hpp"
#include "store/container.hpp"
#include <algorithm>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-port [OPTIONS] CONTAINER [PRIVATE_PORT[/PROTO]]\n"
    "\n"
    "List the port mappings of a running container (\"80/tcp -> 0.0.0.0:8080\"), or the host\n"
    "address of one private port.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but the mappings and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int port_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (argc - optind < 1 || argc - optind > 2)
    cli::usage_error("expected CONTAINER and at most one PRIVATE_PORT[/PROTO]");
  // The filter, checked before the store is read: docker's "80" means 80/tcp.
  std::optional<std::pair<uint16_t, std::string>> want;
  if (argc - optind == 2) {
    std::string spec = argv[optind + 1];
    auto slash = spec.find('/');
    std::string proto = slash == std::string::npos ? "tcp" : spec.substr(slash + 1);
    auto n = sys::parse_uint(spec.substr(0, slash));
    if (!n || *n == 0 || *n > 65535 || (proto != "tcp" && proto != "udp"))
      cli::usage_error(cat("invalid port ", printable(spec), " (PORT[/tcp|udp])"));
    want = {static_cast<uint16_t>(*n), proto};
  }
  std::string root = store_root();
  container::Record rec = container::refresh(root, container::get(root, argv[optind]));
  std::vector<net::Port> ports;
  if (rec.status == "running") // ports are held only while it runs (koker-ps shows the same)
    for (const auto &p : rec.publish)
      ports.push_back(net::parse_port(p));
  std::sort(ports.begin(), ports.end(), [](const auto &a, const auto &b) {
    return std::tie(a.port, a.proto, a.host_port) < std::tie(b.port, b.proto, b.host_port);
  });
  std::string out;
  for (const auto &p : ports) {
    std::string host = p.v6() ? cat("[", p.host_ip, "]:", p.host_port) : cat(p.host_ip, ":", p.host_port);
    if (!want)
      out += cat(p.port, "/", p.proto, " -> ", host, "\n");
    else if (want->first == p.port && want->second == p.proto)
      out += host + "\n";
  }
  if (want && out.empty())
    fail("no public port '", want->first, "/", want->second, "' published for ", argv[optind]);
  out::text(out);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-port", USAGE, port_main); }
