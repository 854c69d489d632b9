// SPDX-License-Identifier: MIT
#include "run_options.hpp"
#include "caps.hpp"
#include "digest.hpp"
#include "seccomp.hpp"
#include "error.hpp"
#include "log.hpp"
#include "main.hpp"
#include "net.hpp"
#include "sys.hpp"
#include "text.hpp"
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::run {

const char USAGE[] =
    "Usage: koker-run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
    "\n"
    "Create and start a container from IMAGE (a reference, an ID or 12+ hex of one, or - to\n"
    "read the ID from stdin). A reference not in the store is pulled first.\n"
    "\n"
    "Options:\n"
    "  -d, --detach                 run in the background and print the container ID\n"
    "      --rm                     remove the container when it exits\n"
    "      --name NAME              a unique name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)\n"
    "  -e, --env K=V                 set an environment variable (K alone: take it from here)\n"
    "      --env-file FILE          read K=V lines from FILE\n"
    "  -w, --workdir DIR            the working directory\n"
    "  -u, --user USER[:GROUP]      the user, by name or number, from the image's files\n"
    "      --entrypoint CMD         override the image's entrypoint\n"
    "      --hostname NAME          the hostname (default: the first 12 hex of the ID)\n"
    "  -i, --interactive            keep stdin open\n"
    "  -t, --tty                    allocate a pseudo-terminal\n"
    "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]  publish a port\n"
    "  -v, --volume HOSTPATH:PATH[:ro]  bind mount a host path\n"
    "      --network bridge|none|host  the network (default bridge)\n"
    "      --mem MIB                memory limit in MiB\n"
    "  -m, --memory SIZE            memory limit (b, k, m, g)\n"
    "      --swap MIB               swap allowed on top of memory\n"
    "      --cpus N                 CPUs, fractions allowed\n"
    "      --pids N, --pids-limit N  process limit\n"
    "      --cap-add CAP            add a capability (ALL for every one)\n"
    "      --cap-drop CAP           drop a capability (ALL for every one)\n"
    "      --read-only              mount the root filesystem read-only\n"
    "      --security-opt no-new-privileges  set no_new_privs\n"
    "      --cidfile FILE           write the container ID to FILE\n"
    "  -q, --quiet                  print nothing but the container's output and errors\n"
    "  -D, --debug                  trace every system-level step on stderr\n"
    "      --root DIR               the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help                   show this help\n"
    "      --version                show the version\n";

namespace {

enum {
  OPT_RM = 0x2000, OPT_NAME, OPT_ENV_FILE, OPT_ENTRYPOINT, OPT_HOSTNAME, OPT_NETWORK, OPT_MEM,
  OPT_SWAP, OPT_CPUS, OPT_PIDS, OPT_CAP_ADD, OPT_CAP_DROP, OPT_READ_ONLY, OPT_SECURITY_OPT,
  OPT_CIDFILE
};

void add_env_file(Options &o, const std::string &path) {
  std::string text = sys::read_file(path, 1 << 20);
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos)
      j = text.size();
    std::string line = text.substr(i, j - i);
    i = j + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (line.empty() || line[0] == '#')
      continue;
    o.env.push_back(line);
  }
}

// "HOST:PATH[:ro|rw]" with absolute paths.
init::Volume parse_volume(const std::string &spec) {
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    size_t j = spec.find(':', i);
    parts.push_back(spec.substr(i, j == std::string::npos ? j : j - i));
    if (j == std::string::npos)
      break;
    i = j + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw"))
    cli::usage_error(cat("invalid volume ", printable(spec), " (want HOSTPATH:PATH[:ro])"));
  if (parts[0].empty() || parts[0][0] != '/' || parts[1].empty() || parts[1][0] != '/')
    cli::usage_error(cat("invalid volume ", printable(spec), ": both paths must be absolute"));
  for (const auto &p : {parts[0], parts[1]})
    if (p.find("/../") != std::string::npos || (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0))
      cli::usage_error(cat("invalid volume ", printable(spec), ": paths may not hold .."));
  return {parts[0], parts[1], parts.size() == 3 && parts[2] == "ro"};
}

} // namespace

Options parse(int argc, char **argv) {
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
      {"cidfile", required_argument, nullptr, OPT_CIDFILE}});
  std::string shorts = std::string(cli::COMMON_SHORT) + "de:w:u:itp:v:m:";
  Options o;
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
    case OPT_ENTRYPOINT: o.entrypoint = optarg; o.has_entrypoint = true; break;
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
    case 'v': o.volumes.push_back(optarg); break;
    case OPT_NETWORK: o.network = optarg; break;
    case OPT_MEM: o.mem_mib = optarg; break;
    case 'm': o.memory = optarg; break;
    case OPT_SWAP: o.swap_mib = optarg; break;
    case OPT_CPUS: o.cpus = optarg; break;
    case OPT_PIDS: o.pids = optarg; break;
    case OPT_CAP_ADD: o.cap_add.push_back(optarg); break;
    case OPT_CAP_DROP: o.cap_drop.push_back(optarg); break;
    case OPT_READ_ONLY: o.read_only = true; break;
    case OPT_SECURITY_OPT:
      if (std::string_view(optarg) != "no-new-privileges" &&
          std::string_view(optarg) != "no-new-privileges:true")
        cli::usage_error(cat("unsupported --security-opt ", printable(optarg),
                             " (koker knows no-new-privileges)"));
      o.no_new_privileges = true;
      break;
    case OPT_CIDFILE: o.cidfile = optarg; break;
    default: cli::bad_option(c, argv);
    }
  }
  if (optind >= argc)
    cli::usage_error("IMAGE is missing");
  o.image = argv[optind];
  o.command.assign(argv + optind + 1, argv + argc);

  // Every combination checked before anything touches the host.
  if (!o.name.empty() && !container::valid_name(o.name))
    cli::usage_error(cat("invalid container name ", printable(o.name),
                         ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  if (o.network != "bridge" && o.network != "none" && o.network != "host")
    cli::usage_error(cat("unknown network ", printable(o.network), " (bridge, none or host)"));
  if (o.network != "bridge" && !o.publish.empty())
    cli::usage_error("--publish needs the bridge network");
  if (o.network == "host" && !o.hostname.empty())
    cli::usage_error("--hostname cannot be used with --network host");
  if (o.detach && o.auto_remove && false)
    cli::usage_error("unreachable");
  for (const auto &e : o.env)
    if (e.empty() || e[0] == '=')
      cli::usage_error(cat("invalid environment variable ", printable(e)));
  for (const auto &v : o.volumes)
    parse_volume(v);
  if (!o.hostname.empty() && (o.hostname.size() > 64 || o.hostname.find('/') != std::string::npos))
    cli::usage_error(cat("invalid hostname ", printable(o.hostname)));
  caps::adjust(caps::default_set(), o.cap_add, o.cap_drop); // throws on unknown names
  if (o.network == "bridge")
    net::from_env(store_root()); // KOKER_BRIDGE and KOKER_SUBNET
  if (o.detach && (o.interactive || o.auto_remove) && false)
    cli::usage_error("unreachable");
  return o;
}

store::ImageRecord resolve_image(const store::Store &store, const std::string &name) {
  std::string query = name;
  if (query == "-") {
    // koker-pull alpine | koker-run - ...: the ID is the first line of stdin.
    std::string line;
    char c;
    while (line.size() < 256 && ::read(0, &c, 1) == 1 && c != '\n')
      line.push_back(c);
    if (line.empty())
      fail("unable to read an image ID from stdin");
    query = line;
  }
  std::string ref = store::reference_key(query);
  if (auto img = store.find_image(query, ref))
    return *img;
  if (ref.empty() || name == "-")
    fail("no such image: ", printable(query));
  // docker pulls a missing image first; koker-run runs koker-pull for it, so that this tool
  // never links the HTTP stack.
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-pull";
  log::info("unable to find image ", printable(query), " locally; pulling it");
  sys::Ran pull = sys::run_program(exe, {"koker-pull", "-q", "--", query}, {}, false);
  if (pull.status != 0)
    fail("unable to pull ", printable(query));
  std::string id(text::trim(pull.out));
  if (auto img = store.find_image(id))
    return *img;
  fail("koker-pull did not store ", printable(query));
}

std::string attach_to_bridge(const container::Record &rec, pid_t pid) {
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-net";
  std::vector<std::string> words = {"koker-net", "attach", rec.id, std::to_string(pid)};
  for (const auto &p : rec.publish) {
    words.push_back("-p");
    words.push_back(p);
  }
  log::debug("koker-net attach ", rec.id.substr(0, 12), " ", pid, " (the veth pair, the address",
             rec.publish.empty() ? "" : ", the published ports", ")");
  // Without -D, koker-net's stderr is kept: a failure's one line becomes koker-run's own.
  sys::Ran attach = sys::run_program(exe, words, {}, !log::debug_on());
  std::string address(text::trim(attach.out));
  if (attach.status == 0 && net::parse_ip(address)) {
    if (!attach.err.empty() && log::info_on())
      sys::write_fd(2, attach.err, "stderr"); // warnings
    return address;
  }
  const std::string prefix = "koker-net: fatal: ";
  size_t at = attach.err.rfind(prefix);
  if (at != std::string::npos) {
    std::string why = attach.err.substr(at + prefix.size());
    fail(why.substr(0, why.find('\n')));
  }
  if (attach.status == 127)
    fail("unable to run ", exe);
  fail("unable to attach container ", rec.id.substr(0, 12), " to the bridge: koker-net failed");
}

cgroup::Limits parse_limits(const Options &o) {
  cgroup::Limits l;
  const std::pair<const char *, const std::string *> given[] = {
      {"--mem", &o.mem_mib}, {"--memory", &o.memory}, {"--swap", &o.swap_mib},
      {"--cpus", &o.cpus},   {"--pids", &o.pids}};
  for (auto &[option, value] : given)
    if (!value->empty())
      cgroup::parse_limit_option(l, option, *value);
  if (!o.mem_mib.empty() && !o.memory.empty())
    cli::usage_error("--mem and --memory both set the memory limit: give one");
  cgroup::check_limits(l);
  return l;
}

container::Record make_record(const Options &o, const store::ImageRecord &img,
                              const image::Config &cfg, const cgroup::Limits &limits) {
  container::Record r;
  r.id = sys::random_hex(32);
  r.name = o.name;
  r.created = sys::now_rfc3339();
  r.image_id = img.id;
  r.image = o.image == "-" ? img.id : o.image;
  const json::Value *c = cfg.doc.find("config");
  json::Value empty = json::Value::object();
  const json::Value &ic = c && c->is_object() ? *c : empty;
  r.env = json::string_list(ic.find("Env"));
  bool has_path = false;
  for (const auto &e : r.env)
    has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path)
    r.env.insert(r.env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  r.network_mode = o.network;
  r.hostname = !o.hostname.empty() ? o.hostname
               : o.network == "host" ? sys::read_file("/proc/sys/kernel/hostname", 256)
                                     : r.id.substr(0, 12);
  while (!r.hostname.empty() && r.hostname.back() == '\n')
    r.hostname.pop_back();
  init::set_env(r.env, "HOSTNAME=" + r.hostname);
  if (o.tty)
    init::set_env(r.env, "TERM=xterm");
  for (const auto &e : o.env) {
    init::apply_env_option(r.env, e);
  }
  r.entrypoint = o.has_entrypoint ? (o.entrypoint.empty() ? std::vector<std::string>{}
                                                          : std::vector<std::string>{o.entrypoint})
                                  : json::string_list(ic.find("Entrypoint"));
  // docker: a new entrypoint drops the image's Cmd; arguments replace it.
  r.cmd = !o.command.empty() ? o.command
          : o.has_entrypoint ? std::vector<std::string>{}
                             : json::string_list(ic.find("Cmd"));
  std::vector<std::string> argv = r.entrypoint;
  argv.insert(argv.end(), r.cmd.begin(), r.cmd.end());
  if (argv.empty())
    fail("no command specified: the image has none and none was given");
  r.path = argv[0];
  r.args.assign(argv.begin() + 1, argv.end());
  r.workdir = !o.workdir.empty() ? o.workdir : ic.get_string("WorkingDir");
  if (!r.workdir.empty() && r.workdir[0] != '/')
    fail("the working directory ", printable(r.workdir), " is not an absolute path");
  r.user = !o.user.empty() ? o.user : ic.get_string("User");
  r.tty = o.tty;
  r.open_stdin = o.interactive;
  r.read_only = o.read_only;
  r.auto_remove = o.auto_remove;
  r.no_new_privileges = o.no_new_privileges;
  r.binds = o.volumes;
  r.cap_add = o.cap_add;
  r.cap_drop = o.cap_drop;
  r.publish = o.publish;
  r.memory = static_cast<int64_t>(limits.memory.value_or(0));
  r.memory_swap = limits.memory ? static_cast<int64_t>(*limits.memory + limits.swap.value_or(*limits.memory)) : 0;
  r.nano_cpus = static_cast<int64_t>(limits.nano_cpus.value_or(0));
  r.pids_limit = static_cast<int64_t>(limits.pids.value_or(0));
  return r;
}

init::Spec make_spec(const Options &o, const container::Record &rec, const store::Store &store,
                     const store::ImageRecord &img, const std::string &dir) {
  init::Spec s;
  s.rootfs = store.mount_point();
  s.layers_dir = store.root() + "/layers";
  // The image's /etc as overlayfs will show it: the topmost layer holding an entry decides.
  // Over a symlink or file there, the init layer's directory would hide it, so such an image
  // goes without (its mount points are then made in the upper layer, as before).
  std::string etc_kind = "none";
  for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
    if (!store.has_layer(*it))
      fail("the store lacks layer ", *it, " of image ", img.id, ": pull the image again");
    s.lower.push_back(digest::hex_of(*it) + "/diff");
    struct stat st;
    std::string etc = store.layer_dir(*it) + "/diff/etc";
    if (etc_kind == "none" && ::lstat(etc.c_str(), &st) == 0)
      etc_kind = S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) ? "dir" : "other"; // CHR: whiteout
  }
  if (etc_kind != "other") {
    store.init_layer();
    s.lower.insert(s.lower.begin(), "../init"); // relative to layers/, as the others
  } else {
    log::debug("the image's /etc is not a directory: no init layer");
  }
  s.upper = dir + "/upper";
  s.work = dir + "/work";
  s.etc_dir = dir;
  for (const auto &v : o.volumes) {
    init::Volume vol = parse_volume(v);
    if (!sys::exists(vol.source)) {
      log::debug("mkdir -p ", vol.source, " (a missing volume source, as docker)");
      sys::mkdir_p(vol.source, 0755);
    }
    s.volumes.push_back(vol);
  }
  s.hostname = rec.hostname;
  s.own_net = o.network != "host";
  s.own_uts = o.network != "host";
  s.read_only = o.read_only;
  s.volatile_upper = o.auto_remove;
  s.tty = o.tty;
  s.interactive = o.interactive;
  init::Process &p = s.process;
  p.argv = rec.args;
  p.argv.insert(p.argv.begin(), rec.path);
  p.env = rec.env;
  p.workdir = rec.workdir;
  p.user = rec.user;
  p.caps = caps::adjust(caps::default_set(), o.cap_add, o.cap_drop);
  p.filter = seccomp::cached_default(p.caps, store.root() + "/cache");
  p.no_new_privileges = o.no_new_privileges;
  return s;
}

std::string host_resolv_conf() {
  std::string conf = sys::read_file_if_exists("/etc/resolv.conf", 64 << 10).value_or("");
  bool stub_only = conf.find("nameserver 127.") != std::string::npos &&
                   conf.find("nameserver ") == conf.find("nameserver 127.");
  if (stub_only)
    if (auto real = sys::read_file_if_exists("/run/systemd/resolve/resolv.conf", 64 << 10))
      return *real;
  return conf;
}

std::string clone_flags_string(unsigned long f) {
  std::string s;
  const std::pair<unsigned long, const char *> names[] = {
      {CLONE_NEWNS, "NEWNS"},   {CLONE_NEWPID, "NEWPID"}, {CLONE_NEWUTS, "NEWUTS"},
      {CLONE_NEWIPC, "NEWIPC"}, {CLONE_NEWNET, "NEWNET"}, {CLONE_NEWCGROUP, "NEWCGROUP"}};
  for (auto &[bit, name] : names)
    if (f & bit)
      s += cat(s.empty() ? "" : "|", name);
  return s;
}

} // namespace koker::run
