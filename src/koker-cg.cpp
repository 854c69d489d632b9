// SPDX-License-Identifier: MIT
// koker-cg: koker's cgroups (koker/NAME in every hierarchy) on v1, hybrid and v2 hosts.
#include "cgroup/cgroup.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-cg [OPTIONS] COMMAND [ARG...]\n"
    "\n"
    "Manage koker's cgroups, koker/NAME in every cgroup hierarchy, on v1, hybrid and v2 hosts.\n"
    "\n"
    "Commands:\n"
    "  create NAME [LIMITS]          make the group, with device rules (v1) and limits\n"
    "  set NAME LIMITS               change a group's limits\n"
    "  add NAME PID                  move a process into a group\n"
    "  exec NAME [LIMITS] [--] CMD [ARG...]\n"
    "                                join the group (made if missing), then exec CMD\n"
    "  stats NAME                    memory, CPU time, processes and OOM kills\n"
    "  ls                            list the groups, one name a line\n"
    "  rm NAME...                    remove groups that have no processes\n"
    "  exists NAME                   exit 0 if the group exists, 1 if not\n"
    "  mode                          print the host's cgroup mode: v1, hybrid or v2\n"
    "\n"
    "Limits:\n"
    "      --mem MIB              memory limit in MiB\n"
    "  -m, --memory SIZE          memory limit: a number and an optional b, k, m or g\n"
    "      --swap MIB             swap on top of memory (default: as much as memory)\n"
    "      --cpus N               CPUs as a CFS quota, fractional (0.5: 50000 of 100000 us)\n"
    "      --pids N               at most N processes; also --pids-limit\n"
    "\n"
    "Options:\n"
    "  -f, --force                rm: kill the group's processes first\n"
    "      --format table|json    stats, ls: a table (default) or JSON\n"
    "  -q, --quiet                print nothing but data and errors\n"
    "  -D, --debug                trace every cgroup file written, mkdir and rmdir\n"
    "      --root DIR             the store (unused; every tool takes it)\n"
    "  -h, --help                 show this help\n"
    "      --version              show the version\n"
    "\n"
    "KOKER_CGROUP_ROOT=DIR makes koker-cg work on a fake cgroup tree (tests).\n";

enum { OPT_MEM = 1, OPT_SWAP, OPT_CPUS, OPT_PIDS, OPT_PIDS_LIMIT, OPT_FORMAT };

struct Args {
  std::vector<std::string> words; // the command and its operands
  char **cmd = nullptr;           // exec: the command to run
  cgroup::Limits limits;
  bool force = false;
  std::string format;
};

// Options may come anywhere among the operands; for exec, the first operand after NAME (or
// whatever follows "--") is the command, whose own options are left alone.
static Args parse(int argc, char **argv) {
  auto opts = cli::long_options({{"mem", required_argument, nullptr, OPT_MEM},
                                 {"memory", required_argument, nullptr, 'm'},
                                 {"swap", required_argument, nullptr, OPT_SWAP},
                                 {"cpus", required_argument, nullptr, OPT_CPUS},
                                 {"pids", required_argument, nullptr, OPT_PIDS},
                                 {"pids-limit", required_argument, nullptr, OPT_PIDS_LIMIT},
                                 {"force", no_argument, nullptr, 'f'},
                                 {"format", required_argument, nullptr, OPT_FORMAT}});
  std::string shorts = std::string(cli::COMMON_SHORT) + "fm:";
  Args a;
  for (;;) {
    int before = optind, index = -1;
    int c = getopt_long(argc, argv, shorts.c_str(), opts.data(), &index);
    if (c == -1) {
      bool dashdash = optind == before + 1 && std::strcmp(argv[before], "--") == 0;
      bool exec = !a.words.empty() && a.words[0] == "exec";
      if (optind >= argc)
        break;
      if (exec && (dashdash || a.words.size() >= 2)) {
        a.cmd = argv + optind;
        break;
      }
      if (dashdash) {
        a.words.insert(a.words.end(), argv + optind, argv + argc);
        break;
      }
      a.words.emplace_back(argv[optind++]);
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    std::string name = index >= 0 ? cat("--", opts[index].name) : cat('-', static_cast<char>(c));
    try {
      switch (c) {
      case 'f':
        a.force = true;
        break;
      case OPT_FORMAT:
        a.format = optarg;
        break;
      case OPT_MEM:
      case 'm':
      case OPT_SWAP:
      case OPT_CPUS:
      case OPT_PIDS:
      case OPT_PIDS_LIMIT:
        cgroup::parse_limit_option(a.limits, name, optarg);
        break;
      default:
        cli::bad_option(c, argv);
      }
    } catch (const Error &e) {
      cli::usage_error(e.what());
    }
  }
  try {
    cgroup::check_limits(a.limits);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  return a;
}

static cgroup::Group open_group(const std::string &name) {
  auto g = cgroup::Group::open(name);
  if (!g)
    fail("no such cgroup: ", name);
  return std::move(*g);
}

// go-units' BytesSize, as docker stats prints memory: "1.5MiB", "1.944GiB".
static std::string bytes_size(uint64_t n) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, units[u]);
  return buf;
}

static std::string fixed(double v, const char *fmt) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

static std::string pad(std::string s, size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

static void print_stats(const cgroup::Group &g, const std::string &format) {
  auto st = g.stats();
  using cgroup::UNLIMITED;
  auto limited = [](std::optional<uint64_t> v) { return v && *v != UNLIMITED; };
  // Without a limit, docker measures against the host's memory.
  uint64_t host_mem = uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t limit = limited(st.memory_limit) ? std::min(*st.memory_limit, host_mem) : host_mem;
  std::optional<double> percent;
  if (st.memory_usage && limit)
    percent = 100.0 * static_cast<double>(*st.memory_usage) / static_cast<double>(limit);
  if (format == "json") {
    auto num = [](std::optional<uint64_t> v) { return v ? json::Value(*v) : json::Value(); };
    json::Value v = json::Value::object();
    v.set("Name", g.name());
    v.set("Mode", cgroup::mode_name(g.mode()));
    v.set("MemoryUsage", num(st.memory_usage));
    v.set("MemoryLimit", limited(st.memory_limit) ? num(st.memory_limit) : json::Value());
    v.set("MemoryPercent",
          percent ? json::Value::number_text(fixed(*percent, "%.2f")) : json::Value());
    v.set("CPUTimeNs", num(st.cpu_usage_ns));
    v.set("Pids", num(st.pids_current));
    v.set("PidsLimit", limited(st.pids_limit) ? num(st.pids_limit) : json::Value());
    v.set("OOMKills", num(st.oom_kills));
    json::Value &paths = v.set("Paths", json::Value::array());
    for (const auto &p : g.paths())
      paths.push(json::Value(p));
    out::line(v.dump(2));
    return;
  }
  auto or_dash = [](std::optional<uint64_t> v) { return v ? std::to_string(*v) : "--"; };
  std::string mem = st.memory_usage ? bytes_size(*st.memory_usage) : "--";
  mem += " / " + bytes_size(limit);
  std::string cpu = st.cpu_usage_ns ? fixed(*st.cpu_usage_ns / 1e9, "%.3fs") : "--";
  std::string plimit = !st.pids_limit           ? "--"
                       : limited(st.pids_limit) ? or_dash(st.pids_limit)
                                                : "unlimited";
  size_t w = std::max<size_t>(g.name().size(), 4) + 3;
  out::text(pad("NAME", w) + pad("MEM USAGE / LIMIT", 24) + pad("MEM %", 9) + pad("CPU TIME", 12) +
            pad("PIDS", 7) + pad("PIDS LIMIT", 13) + "OOM KILLS\n" + pad(g.name(), w) +
            pad(mem, 24) + pad(percent ? fixed(*percent, "%.2f%%") : "--", 9) + pad(cpu, 12) +
            pad(or_dash(st.pids_current), 7) + pad(plimit, 13) + or_dash(st.oom_kills) + "\n");
}

[[noreturn]] static void exec_in(const std::string &name, const cgroup::Limits &limits,
                                 char **cmd) {
  auto g = cgroup::Group::open(name);
  if (!g)
    g = cgroup::Group::create(name, limits);
  else if (!limits.empty())
    g->set(limits);
  g->add(::getpid());
  log::debug("execvp ", printable(cmd[0]));
  ::execvp(cmd[0], cmd);
  int e = errno;
  throw Error(cat("unable to exec ", printable(cmd[0]), ": ", std::strerror(e)),
              e == ENOENT ? 127 : 126, e);
}

static int cg_main(int argc, char **argv) {
  Args a = parse(argc, argv);
  if (a.words.empty())
    cli::usage_error("COMMAND is missing");
  const std::string cmd = a.words[0];
  if (!a.limits.empty() && cmd != "create" && cmd != "set" && cmd != "exec")
    cli::usage_error("limits apply to create, set and exec only");
  if (a.force && cmd != "rm")
    cli::usage_error("-f applies to rm only");
  if (!a.format.empty() && cmd != "stats" && cmd != "ls")
    cli::usage_error("--format applies to stats and ls only");
  if (!a.format.empty())
    cli::check_format(a.format);

  if (cmd == "mode") {
    cli::want_operands(a.words, 0, "");
    cgroup::Host host = cgroup::probe();
    out::line(cgroup::mode_name(host.mode));
    if (rootless::active())
      out::line("rootless: " + cgroup::delegation_text(host));
  } else if (cmd == "create") {
    cli::want_operands(a.words, 1, "NAME");
    cgroup::Group::create(a.words[1], a.limits);
  } else if (cmd == "set") {
    cli::want_operands(a.words, 1, "NAME");
    if (a.limits.empty())
      cli::usage_error("set needs a limit (--mem, --memory, --swap, --cpus or --pids)");
    open_group(a.words[1]).set(a.limits);
  } else if (cmd == "add") {
    cli::want_operands(a.words, 2, a.words.size() < 2 ? "NAME" : "PID");
    auto pid = sys::parse_uint(a.words[2]);
    if (!pid || *pid == 0 || *pid > 0x7fffffff)
      cli::usage_error(cat("not a process id: ", printable(a.words[2])));
    open_group(a.words[1]).add(static_cast<pid_t>(*pid));
  } else if (cmd == "exec") {
    if (a.words.size() < 2)
      cli::usage_error("NAME is missing");
    if (!a.cmd || !a.cmd[0])
      cli::usage_error("CMD is missing");
    exec_in(a.words[1], a.limits, a.cmd);
  } else if (cmd == "stats") {
    cli::want_operands(a.words, 1, "NAME");
    print_stats(open_group(a.words[1]), a.format);
  } else if (cmd == "ls") {
    cli::want_operands(a.words, 0, "");
    auto names = cgroup::list();
    if (a.format == "json") {
      json::Value list = json::Value::array();
      for (const auto &n : names)
        list.push(json::Value(n));
      out::line(list.dump());
    } else {
      for (const auto &n : names)
        out::line(n);
    }
  } else if (cmd == "rm") {
    if (a.words.size() < 2)
      cli::usage_error("NAME is missing");
    int status = 0;
    for (size_t i = 1; i < a.words.size(); ++i) {
      try {
        open_group(a.words[i]).remove(a.force);
      } catch (const Error &e) {
        log::fatal(e.what());
        status = 125;
      }
    }
    return status;
  } else if (cmd == "exists") {
    cli::want_operands(a.words, 1, "NAME");
    return cgroup::Group::open(a.words[1]) ? 0 : 1;
  } else {
    cli::usage_error(cat("unknown command: ", printable(cmd)));
  }
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-cg", USAGE, cg_main); }
