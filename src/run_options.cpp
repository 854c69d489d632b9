// SPDX-License-Identifier: MIT
#include "run_options.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/net.hpp"
#include "net/network.hpp"
#include "net/usermode.hpp"
#include "base/rootless.hpp"
#include "image/image.hpp"
#include "runtime/caps.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/run_flags.hpp"
#include "base/json.hpp"
#include "runtime/restart.hpp"
#include "store/container.hpp"

namespace koker::run {

// The options koker-run and koker-create share (koker-run adds -d).
#define SHARED_OPTIONS \
    "      --rm                     remove the container when it exits\n" \
    "      --name NAME              a unique name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)\n" \
    "  -e, --env K=V                 set an environment variable (K alone: take it from here)\n" \
    "      --env-file FILE          read K=V lines from FILE\n" \
    "  -w, --workdir DIR            the working directory\n" \
    "  -u, --user USER[:GROUP]      the user, by name or number, from the image's files\n" \
    "      --entrypoint CMD         override the image's entrypoint\n" \
    "      --hostname NAME          the hostname (default: the first 12 hex of the ID)\n" \
    "  -i, --interactive            keep stdin open\n" \
    "  -t, --tty                    allocate a pseudo-terminal\n" \
    "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]  publish a port\n" \
    "  -v, --volume HOSTPATH:PATH[:ro]  bind mount a host path\n" \
    "  -v, --volume NAME:PATH[:ro]  mount the volume NAME (made when missing)\n" \
    "      --mount type=volume|bind|tmpfs,source=S,target=PATH[,readonly]  mount as docker's\n" \
    "                               --mount (volume-nocopy, tmpfs-size=, tmpfs-mode=)\n" \
    "      --tmpfs PATH[:size=S,mode=M]  mount a tmpfs on PATH\n" \
    "      --network NETWORK        bridge (the default), none, host, slirp4netns[:OPTIONS],\n" \
    "                               pasta[:OPTIONS] (user-mode), or a network of koker-net\n" \
    "                               create (repeatable: one interface on each)\n" \
    "      --ip IP                  the address on the first user-defined network\n" \
    "      --ip6 IP                 its IPv6 address there (on a network with IPv6)\n" \
    "      --network-alias NAME     another name on the first user-defined network (repeatable)\n" \
    "      --mem MIB                memory limit in MiB\n" \
    "  -m, --memory SIZE            memory limit (b, k, m, g)\n" \
    "      --swap MIB               swap allowed on top of memory\n" \
    "      --cpus N                 CPUs, fractions allowed\n" \
    "      --pids N, --pids-limit N  process limit\n" \
    "      --cap-add CAP            add a capability (ALL for every one)\n" \
    "      --cap-drop CAP           drop a capability (ALL for every one)\n" \
    "      --read-only              mount the root filesystem read-only\n" \
    "      --security-opt no-new-privileges  set no_new_privs\n" \
    "      --security-opt seccomp=unconfined|FILE  no seccomp filter, or FILE's (docker's JSON)\n" \
    "      --privileged             every capability and host device, no seccomp, /sys writable\n" \
    "      --device HOST[:CONTAINER][:rwm]  a host device node and its cgroup rule\n" \
    "      --init                   run an init as PID 1 that forwards signals and reaps zombies\n" \
    "      --add-host HOST:IP       a line in /etc/hosts (IP host-gateway: the bridge's gateway)\n" \
    "      --dns IP                 a nameserver for /etc/resolv.conf\n" \
    "      --dns-search DOMAIN      a search domain for /etc/resolv.conf (. for none)\n" \
    "      --ulimit NAME=SOFT[:HARD]  a resource limit (nofile, nproc, core, ...; -1 unlimited)\n" \
    "      --stop-signal SIGNAL     the signal koker-stop sends (default the image's, or TERM)\n" \
    "      --stop-timeout SECS      koker-stop's grace period before SIGKILL (default 10)\n" \
    "      --shm-size SIZE          the size of /dev/shm (b, k, m, g; default 64m)\n" \
    "      --sysctl K=V             a namespaced sysctl (kernel.msg*, kernel.sem, kernel.shm*,\n" \
    "                               fs.mqueue.*, net.*)\n" \
    "      --group-add GROUP        a supplementary group, by name (the image's) or number\n" \
    "      --platform OS/ARCH[/VARIANT]  the platform to pull the image for\n" \
    "      --pull always|missing|never  when to pull the image (default missing)\n" \
    "  -P, --publish-all            publish every exposed port on a free host port\n" \
    "      --cidfile FILE           write the container ID to FILE\n" \
    "  -l, --label K=V              set a label (K alone: an empty value)\n" \
    "      --label-file FILE        read K=V labels from FILE, a line each\n" \
    "      --log-opt max-size=SIZE  with -d: rotate the log before it passes SIZE (b, k, m, g)\n" \
    "      --log-opt max-file=N     with max-size: keep N log files (default 1)\n" \
    "      --restart POLICY         no, on-failure[:N], always or unless-stopped\n" \
    "  -q, --quiet                  print nothing but the container's output and errors\n" \
    "  -D, --debug                  trace every system-level step on stderr\n" \
    "      --root DIR               the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n" \
    "  -h, --help                   show this help\n" \
    "      --version                show the version\n"

const char USAGE[] =
    "Usage: koker-run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
    "\n"
    "Create and start a container from IMAGE (a reference, an ID or 12+ hex of one, or - to\n"
    "read the ID from stdin). A reference not in the store is pulled first.\n"
    "\n"
    "Options:\n"
    "  -d, --detach                 run in the background and print the container ID\n"
    SHARED_OPTIONS;

const char CREATE_USAGE[] =
    "Usage: koker-create [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
    "\n"
    "Create a container from IMAGE as koker-run would, without starting it (koker-start\n"
    "does), and print its ID. A reference not in the store is pulled first.\n"
    "\n"
    "Options:\n"
    SHARED_OPTIONS;

namespace {

enum {
  OPT_RM = 0x2000, OPT_NAME, OPT_ENV_FILE, OPT_ENTRYPOINT, OPT_HOSTNAME, OPT_NETWORK, OPT_MEM,
  OPT_SWAP, OPT_CPUS, OPT_PIDS, OPT_CAP_ADD, OPT_CAP_DROP, OPT_READ_ONLY, OPT_SECURITY_OPT,
  OPT_CIDFILE, OPT_LOG_OPT,
  // issue 16 point 4
  OPT_PRIVILEGED, OPT_DEVICE, OPT_INIT, OPT_ADD_HOST, OPT_DNS, OPT_DNS_SEARCH, OPT_ULIMIT,
  OPT_STOP_SIGNAL, OPT_STOP_TIMEOUT, OPT_SHM_SIZE, OPT_SYSCTL, OPT_GROUP_ADD, OPT_PLATFORM,
  OPT_PULL,
  // issue 16 point 5
  OPT_LABEL_FILE,
  // issue 16 point 2
  OPT_MOUNT, OPT_TMPFS,
  // restart policies
  OPT_RESTART,
  // user-defined networks (issue 19)
  OPT_IP, OPT_IP6, OPT_NETWORK_ALIAS
};

// Runs parse on a flag's value; its Error becomes a usage error naming the flag and value.
template <class F> auto flag_value(const char *flag, const char *value, F parse) {
  try {
    return parse(std::string_view(value));
  } catch (const Error &e) {
    cli::usage_error(cat("invalid ", flag, " ", printable(value), ": ", e.what()));
  }
}

// --security-opt: no-new-privileges[:true|false], seccomp=unconfined|FILE (":" for "=" too,
// docker's old form). docker's CLI reads FILE itself and hands the daemon its text.
void add_security_opt(create::Options &o, std::string_view opt) {
  if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
      opt == "no-new-privileges=true") {
    o.no_new_privileges = true;
    return;
  }
  if (opt == "no-new-privileges:false" || opt == "no-new-privileges=false") {
    o.no_new_privileges = false;
    return;
  }
  if (text::starts_with(opt, "seccomp=") || text::starts_with(opt, "seccomp:")) {
    std::string_view file = opt.substr(8);
    if (file == "unconfined") {
      o.seccomp = "unconfined";
      return;
    }
    if (file.empty())
      cli::usage_error("invalid --security-opt seccomp=: a FILE or unconfined is missing");
    std::string body = flag_value("--security-opt", std::string(opt).c_str(), [&](std::string_view) {
      return sys::read_file(std::string(file), 4 << 20);
    });
    // Checked now, against the default capabilities; run_spec converts it for the real ones.
    flag_value("--security-opt", std::string(opt).c_str(), [&](std::string_view) {
      return run_flags::seccomp_from_docker(body, caps::default_set(), file);
    });
    o.seccomp = json::parse(body, file).dump(); // compact, as the record keeps it
    return;
  }
  cli::usage_error(cat("unsupported --security-opt ", printable(opt),
                       " (koker knows no-new-privileges and seccomp=unconfined|FILE)"));
}

// --pull's policies, docker's names.
std::string pull_policy(std::string_view v) {
  if (v != "always" && v != "missing" && v != "never")
    fail("want always, missing or never");
  return std::string(v);
}

// docker's --env-file: K=V lines; blank lines and # comments skipped, trailing blanks cut.
void add_env_file(create::Options &o, const std::string &path) {
  for (const auto &raw : text::split(sys::read_file(path, 1 << 20), '\n')) {
    std::string_view line = raw;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (!line.empty() && line[0] != '#')
      o.env.emplace_back(line);
  }
}

// docker's -l: "K=V", or "K" for an empty value; a later one for the same key wins.
void add_label(create::Options &o, std::string_view label) {
  size_t eq = label.find('=');
  std::string key(label.substr(0, eq));
  if (key.empty() || key.find('\0') != std::string::npos)
    cli::usage_error(cat("invalid label ", printable(label), ": the key is empty"));
  o.labels[key] = eq == label.npos ? "" : std::string(label.substr(eq + 1));
}

// docker's --label-file: a label a line; blank lines and # comments skipped.
void add_label_file(create::Options &o, const std::string &path) {
  for (const auto &raw : text::split(sys::read_file(path, 1 << 20), '\n')) {
    std::string_view line = text::trim(raw);
    if (!line.empty() && line[0] != '#')
      add_label(o, line);
  }
}

// docker's json-file options: max-size (a size) and max-file (how many files to keep).
void add_log_opt(create::Options &o, std::string_view opt) {
  size_t eq = opt.find('=');
  std::string_view key = opt.substr(0, eq), value = eq == opt.npos ? "" : opt.substr(eq + 1);
  try {
    if (key == "max-size") {
      o.log.max_size = cgroup::parse_size(value);
    } else if (key == "max-file") {
      auto n = sys::parse_uint(value);
      if (!n || *n < 1 || *n > 100)
        cli::usage_error(cat("invalid --log-opt max-file=", printable(value), ": 1 to 100 files"));
      o.log.max_files = static_cast<unsigned>(*n);
      o.log_max_files_given = true;
    } else {
      cli::usage_error(cat("unknown --log-opt ", printable(opt), " (koker knows max-size and max-file)"));
    }
  } catch (const Error &e) {
    cli::usage_error(cat("invalid --log-opt ", printable(opt), ": ", e.what()));
  }
}

// -v (kept as given too, for HostConfig.Binds), --mount or --tmpfs.
void add_mount(create::Options &o, int option, const char *spec) {
  try {
    o.mounts.push_back(option == 'v'         ? mount_spec::parse_volume(spec)
                       : option == OPT_MOUNT ? mount_spec::parse_mount(spec)
                                             : mount_spec::parse_tmpfs(spec));
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  if (option == 'v')
    o.volumes.push_back(spec);
}

// The raw limit values, checked together once all options are read.
struct LimitValues {
  std::string memory, mem_mib, swap_mib, cpus, pids;
};

// The getopt loop: each option into o (limits as given, into lv).
void read_options(int argc, char **argv, create::Options &o, LimitValues &lv) {
  auto longs = cli::long_options({
      {"detach", no_argument, nullptr, 'd'},           {"rm", no_argument, nullptr, OPT_RM},
      {"name", required_argument, nullptr, OPT_NAME},  {"env", required_argument, nullptr, 'e'},
      {"env-file", required_argument, nullptr, OPT_ENV_FILE},
      {"workdir", required_argument, nullptr, 'w'},    {"user", required_argument, nullptr, 'u'},
      {"entrypoint", required_argument, nullptr, OPT_ENTRYPOINT},
      {"hostname", required_argument, nullptr, OPT_HOSTNAME},
      {"interactive", no_argument, nullptr, 'i'},      {"tty", no_argument, nullptr, 't'},
      {"publish", required_argument, nullptr, 'p'},    {"volume", required_argument, nullptr, 'v'},
      {"network", required_argument, nullptr, OPT_NETWORK},
      {"net", required_argument, nullptr, OPT_NETWORK},
      {"mem", required_argument, nullptr, OPT_MEM},    {"memory", required_argument, nullptr, 'm'},
      {"swap", required_argument, nullptr, OPT_SWAP},  {"cpus", required_argument, nullptr, OPT_CPUS},
      {"pids", required_argument, nullptr, OPT_PIDS},
      {"pids-limit", required_argument, nullptr, OPT_PIDS},
      {"cap-add", required_argument, nullptr, OPT_CAP_ADD},
      {"cap-drop", required_argument, nullptr, OPT_CAP_DROP},
      {"read-only", no_argument, nullptr, OPT_READ_ONLY},
      {"security-opt", required_argument, nullptr, OPT_SECURITY_OPT},
      {"cidfile", required_argument, nullptr, OPT_CIDFILE},
      {"log-opt", required_argument, nullptr, OPT_LOG_OPT},
      // issue 16 point 4
      {"privileged", no_argument, nullptr, OPT_PRIVILEGED},
      {"device", required_argument, nullptr, OPT_DEVICE},
      {"init", no_argument, nullptr, OPT_INIT},
      {"add-host", required_argument, nullptr, OPT_ADD_HOST},
      {"dns", required_argument, nullptr, OPT_DNS},
      {"dns-search", required_argument, nullptr, OPT_DNS_SEARCH},
      {"ulimit", required_argument, nullptr, OPT_ULIMIT},
      {"stop-signal", required_argument, nullptr, OPT_STOP_SIGNAL},
      {"stop-timeout", required_argument, nullptr, OPT_STOP_TIMEOUT},
      {"shm-size", required_argument, nullptr, OPT_SHM_SIZE},
      {"sysctl", required_argument, nullptr, OPT_SYSCTL},
      {"group-add", required_argument, nullptr, OPT_GROUP_ADD},
      {"platform", required_argument, nullptr, OPT_PLATFORM},
      {"pull", required_argument, nullptr, OPT_PULL},
      {"publish-all", no_argument, nullptr, 'P'},
      // issue 16 point 5
      {"label", required_argument, nullptr, 'l'},
      {"label-file", required_argument, nullptr, OPT_LABEL_FILE},
      // issue 16 point 2
      {"mount", required_argument, nullptr, OPT_MOUNT},
      {"tmpfs", required_argument, nullptr, OPT_TMPFS},
      // restart policies
      {"restart", required_argument, nullptr, OPT_RESTART},
      // user-defined networks (issue 19)
      {"ip", required_argument, nullptr, OPT_IP},
      {"ip6", required_argument, nullptr, OPT_IP6},
      {"network-alias", required_argument, nullptr, OPT_NETWORK_ALIAS},
      {"net-alias", required_argument, nullptr, OPT_NETWORK_ALIAS}});
  std::string shorts = std::string(cli::COMMON_SHORT) + "de:w:u:itp:v:m:Pl:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'd': o.detach = true; break;
    case OPT_RM: o.auto_remove = true; break;
    case OPT_NAME: o.name = optarg; break;
    case 'e': o.env.push_back(optarg); break;
    case OPT_ENV_FILE: add_env_file(o, optarg); break;
    case 'w': o.workdir = optarg; break;
    case 'u': o.user = optarg; break;
    case OPT_ENTRYPOINT:
      o.entrypoint = optarg;
      o.has_entrypoint = true;
      break;
    case OPT_HOSTNAME: o.hostname = optarg; break;
    case 'i': o.interactive = true; break;
    case 't': o.tty = true; break;
    case 'p':
      try { // stored in docker's form, as koker-ps shows it
        o.publish.push_back(net::port_string(net::parse_port(optarg)));
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    // volumes, binds and tmpfs (issue 16.2), parsed as they come
    case 'v':
    case OPT_MOUNT:
    case OPT_TMPFS:
      add_mount(o, c, optarg);
      break;
    case OPT_NETWORK: o.networks.push_back(optarg); break;
    case OPT_IP: o.ip = optarg; break;
    case OPT_IP6: o.ip6 = optarg; break;
    case OPT_NETWORK_ALIAS: o.network_aliases.push_back(optarg); break;
    case OPT_MEM: lv.mem_mib = optarg; break;
    case 'm': lv.memory = optarg; break;
    case OPT_SWAP: lv.swap_mib = optarg; break;
    case OPT_CPUS: lv.cpus = optarg; break;
    case OPT_PIDS: lv.pids = optarg; break;
    case OPT_CAP_ADD: o.cap_add.push_back(optarg); break;
    case OPT_CAP_DROP: o.cap_drop.push_back(optarg); break;
    case OPT_READ_ONLY: o.read_only = true; break;
    case OPT_SECURITY_OPT: add_security_opt(o, optarg); break;
    case OPT_CIDFILE: o.cidfile = optarg; break;
    case OPT_LOG_OPT: add_log_opt(o, optarg); break;
    case OPT_RESTART: // restart policies
      try {
        restart::Policy p = restart::parse(optarg);
        o.restart_policy = p.name;
        o.restart_max = p.max;
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    // issue 16 point 4: each value checked here, its use in runtime/run_spec
    case OPT_PRIVILEGED: o.privileged = true; break;
    case OPT_DEVICE:
      flag_value("--device", optarg, run_flags::parse_device);
      o.devices.push_back(optarg);
      break;
    case OPT_INIT: o.init = true; break;
    case OPT_ADD_HOST:
      flag_value("--add-host", optarg, run_flags::parse_add_host);
      o.add_hosts.push_back(optarg);
      break;
    case OPT_DNS:
      flag_value("--dns", optarg, run_flags::check_dns);
      o.dns.push_back(optarg);
      break;
    case OPT_DNS_SEARCH:
      flag_value("--dns-search", optarg, run_flags::check_dns_search);
      o.dns_search.push_back(optarg);
      break;
    case OPT_ULIMIT:
      flag_value("--ulimit", optarg, run_flags::parse_ulimit);
      o.ulimits.push_back(optarg);
      break;
    case OPT_STOP_SIGNAL:
      flag_value("--stop-signal", optarg, lifecycle::parse_signal);
      o.stop_signal = optarg;
      break;
    case OPT_STOP_TIMEOUT:
      o.stop_timeout = flag_value("--stop-timeout", optarg, run_flags::parse_stop_timeout);
      break;
    case OPT_SHM_SIZE: o.shm_size = flag_value("--shm-size", optarg, cgroup::parse_size); break;
    case OPT_SYSCTL:
      // the network is known after the loop: net.* against --network host in check_options
      o.sysctls.push_back(flag_value("--sysctl", optarg, [](std::string_view v) {
        return run_flags::parse_sysctl(v, false);
      }));
      break;
    case OPT_GROUP_ADD:
      if (!*optarg || std::string_view(optarg).find_first_of(":\n") != std::string_view::npos)
        cli::usage_error(cat("invalid --group-add ", printable(optarg), ": a group name or number"));
      o.group_add.push_back(optarg);
      break;
    case OPT_PLATFORM:
      o.platform = flag_value("--platform", optarg, image::Platform::parse).str();
      break;
    case OPT_PULL: o.pull = flag_value("--pull", optarg, pull_policy); break;
    case 'P': o.publish_all = true; break;
    case 'l': add_label(o, optarg); break;
    case OPT_LABEL_FILE: add_label_file(o, optarg); break;
    default: cli::bad_option(c, argv);
    }
  }
}

cgroup::Limits parse_limits(const LimitValues &lv) {
  cgroup::Limits l;
  const std::pair<const char *, const std::string *> given[] = {
      {"--mem", &lv.mem_mib}, {"--memory", &lv.memory}, {"--swap", &lv.swap_mib},
      {"--cpus", &lv.cpus},   {"--pids", &lv.pids}};
  for (auto &[option, value] : given)
    if (!value->empty())
      cgroup::parse_limit_option(l, option, *value);
  if (!lv.mem_mib.empty() && !lv.memory.empty())
    cli::usage_error("--mem and --memory both set the memory limit: give one");
  cgroup::check_limits(l);
  return l;
}

// --network (repeated), --ip, --network-alias: docker's rules. o.network becomes the mode:
// bridge, none, host, slirp4netns[:OPTIONS], pasta[:OPTIONS], or the first user-defined
// network's name.
void check_networks(create::Options &o) {
  if (o.networks.empty())
    o.networks.push_back("bridge");
  bool user = false, builtin = false;
  for (const auto &name : o.networks) {
    bool is_builtin = name == "bridge" || name == "none" || name == "host" || name == "default" ||
                      net::usermode::is_usermode(name);
    builtin |= is_builtin;
    user |= !is_builtin;
    if (!is_builtin && !text::is_name(name))
      cli::usage_error(cat("invalid network name ", printable(name)));
  }
  if (o.networks.size() > 1 && builtin)
    cli::usage_error("conflicting options: cannot attach both user-defined and non-user-defined "
                     "network-modes");
  for (size_t i = 0; i < o.networks.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (o.networks[i] == o.networks[j])
        cli::usage_error(cat("network ", o.networks[i], " is given twice"));
  o.network = o.networks[0] == "default" ? "bridge" : o.networks[0];
  // Rootless: the one place that decides a user's network. The default bridge needs root (a
  // veth, iptables), so a user's default is the user-mode network, as podman's is.
  if (rootless::active()) {
    if (o.network == "bridge")
      o.network = o.networks[0] = net::usermode::name(net::usermode::default_mode());
    else if (user)
      fail("rootless: user-defined networks need root; use the default network (",
           net::usermode::name(net::usermode::default_mode()), "), none or host");
  }
  if (!user && (!o.ip.empty() || !o.ip6.empty()))
    cli::usage_error("user specified IP address is supported on user defined networks only");
  if (!user && !o.network_aliases.empty())
    cli::usage_error("network-scoped alias is supported only for containers in user defined "
                     "networks");
  if (!o.ip.empty() && !net::parse_ip(o.ip))
    cli::usage_error(cat("invalid IPv4 address: ", printable(o.ip)));
  if (!o.ip6.empty() && !net::parse_ip6(o.ip6))
    cli::usage_error(cat("invalid IPv6 address: ", printable(o.ip6)));
  for (const auto &a : o.network_aliases)
    if (!text::is_hostname(a))
      cli::usage_error(cat("invalid network alias ", printable(a)));
  if (user)
    for (const auto &name : o.networks)
      if (!net::find_network(store_root(), name))
        fail("network ", name, " not found");
  if (net::usermode::is_usermode(o.network)) {
    try {
      net::usermode::parse(o.network);
    } catch (const Error &e) {
      cli::usage_error(e.what());
    }
    net::usermode::check_tun(); // now, rather than once the container is made
  }
  // docker checks --ip6 against the network when the container starts; koker here already,
  // against the subnet (whether another container holds it is known under the lease lock).
  if (user && !o.ip6.empty()) {
    auto r = net::find_network(store_root(), o.networks[0]);
    auto a = net::parse_ip6(o.ip6);
    if (r->subnet6.empty())
      fail("invalid address ", o.ip6, ": network ", r->name, " has no IPv6 subnet (network ",
           "create --ipv6)");
    net::Subnet6 s6 = net::parse_subnet6(r->subnet6);
    if (!net::contains6(s6, *a) || *a == s6.network || *a == s6.gateway())
      fail("invalid address ", o.ip6, ": it does not belong to any of this network's subnets (",
           r->subnet6, "), or it is the network's or the gateway's address");
  }
}

// Every combination checked before anything touches the host.
void check_options(create::Options &o) {
  if (!o.name.empty() && !container::valid_name(o.name))
    cli::usage_error(cat("invalid container name ", printable(o.name),
                         ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  check_networks(o);
  bool bridged = o.network != "none" && o.network != "host";
  if (!bridged && !o.publish.empty())
    cli::usage_error("--publish needs the bridge network");
  std::vector<net::Port> ports;
  for (const auto &p : o.publish)
    ports.push_back(net::parse_port(p));
  try {
    net::check_distinct_host_ports(ports);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  if (o.network == "host" && !o.hostname.empty())
    cli::usage_error("--hostname cannot be used with --network host");
  for (const auto &e : o.env)
    if (e.empty() || e[0] == '=')
      cli::usage_error(cat("invalid environment variable ", printable(e)));
  try {
    mount_spec::check_distinct_targets(o.mounts);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  if (!o.hostname.empty() && !text::is_hostname(o.hostname))
    cli::usage_error(cat("invalid hostname ", printable(o.hostname)));
  caps::adjust(caps::default_set(), o.cap_add, o.cap_drop); // throws on unknown names
  if (o.network == "bridge")
    net::from_env(store_root()); // KOKER_BRIDGE and KOKER_SUBNET
  if (o.log_max_files_given && !o.log.max_size)
    cli::usage_error("--log-opt max-file needs max-size beside it");
  if (o.auto_remove && o.restart_policy != "no") // docker's rule
    cli::usage_error("--restart and --rm conflict: a container removed when it exits is not restarted");
  if (o.publish_all && !bridged)
    cli::usage_error("--publish-all needs the bridge network");
  for (const auto &[key, value] : o.sysctls)
    if (o.network == "host")
      flag_value("--sysctl", (key + "=" + value).c_str(),
                 [](std::string_view v) { return run_flags::parse_sysctl(v, true); });
  if (o.privileged && !o.seccomp.empty() && o.seccomp != "unconfined")
    log::warn("--privileged runs without seccomp: the profile of --security-opt is not used");
  if (o.log.max_size && !o.detach)
    cli::usage_error("--log-opt applies to detached containers (-d): only they have a log");
}

} // namespace

create::Options parse(int argc, char **argv, Tool tool) {
  create::Options o;
  LimitValues lv;
  read_options(argc, argv, o, lv);
  if (tool == Tool::create) {
    if (o.detach)
      cli::usage_error("unknown option -d: koker-start starts a created container detached");
    o.detach = true; // as koker-start runs it: its output goes to its log
  }
  if (optind >= argc)
    cli::usage_error("IMAGE is missing");
  o.image = argv[optind];
  o.command.assign(argv + optind + 1, argv + argc);
  check_options(o);
  o.limits = parse_limits(lv);
  // The device cgroup's part of --privileged and --device (the nodes are run_spec's).
  if (o.privileged)
    o.limits.allow_devices.push_back("a");
  for (const auto &d : o.devices) {
    run_flags::Node n = flag_value("--device", d.c_str(), [](std::string_view v) {
      return run_flags::device_node(run_flags::parse_device(v));
    });
    o.limits.allow_devices.push_back(cat(n.type, " ", n.major, ":", n.minor, " ",
                                         run_flags::parse_device(d).cgroup_permissions));
  }
  return o;
}

} // namespace koker::run
