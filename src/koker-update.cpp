// SPDX-License-Identifier: MIT
// koker-update: change the resource limits of containers (docker update).
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/run_spec.hpp"
#include "store/container.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-update [OPTIONS] CONTAINER...\n"
    "\n"
    "Change the limits of containers: a running one's cgroup at once, and for every one its\n"
    "record and bundle/config.json, so that the next start keeps them. Prints each CONTAINER.\n"
    "\n"
    "Options:\n"
    "  -m, --memory SIZE       memory limit (b, k, m, g; at least 6m)\n"
    "      --memory-swap SIZE  memory plus swap (docker's total; at least --memory;\n"
    "                          -1: unlimited swap)\n"
    "      --cpus N            fractional CPUs, e.g. 0.5\n"
    "      --pids-limit N      process limit\n"
    "  -q, --quiet             print nothing but the containers and errors\n"
    "  -D, --debug             trace every step on stderr\n"
    "      --root DIR          the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help              show this help\n"
    "      --version           show the version\n";

namespace {

struct Asked {
  cgroup::Limits limits;         // memory, nano_cpus, pids as given
  std::optional<uint64_t> total; // --memory-swap: memory plus swap; UNLIMITED for -1
};

// The limits to write: what was asked, over what the record holds (docker's rules for memory
// and its swap total).
cgroup::Limits merged(const Asked &a, const container::Record &rec) {
  cgroup::Limits l = a.limits;
  uint64_t memory = l.memory.value_or(static_cast<uint64_t>(rec.memory));
  uint64_t old_total = static_cast<uint64_t>(rec.memory_swap);
  if (a.total && memory == 0)
    fail("you should always set the memory limit when using the memoryswap limit");
  if (a.total && *a.total != cgroup::UNLIMITED && *a.total < memory)
    fail("minimum memoryswap limit should be larger than memory limit, see usage");
  if (!a.total && l.memory && old_total > 0 && old_total < memory)
    fail("memory limit should be smaller than already set memoryswap limit, update the "
         "memoryswap at the same time");
  if (a.total || (l.memory && old_total > 0)) {
    l.memory = memory;
    uint64_t total = a.total.value_or(old_total);
    l.swap = total == cgroup::UNLIMITED ? cgroup::UNLIMITED : total - memory;
  }
  cgroup::check_limits(l);
  return l;
}

// The record's limits, as koker-run's make_record writes them.
void record(container::Record &r, const cgroup::Limits &l) {
  if (l.memory) {
    r.memory = static_cast<int64_t>(*l.memory);
    r.memory_swap = l.swap == cgroup::UNLIMITED
                        ? -1
                        : static_cast<int64_t>(*l.memory + l.swap.value_or(*l.memory));
  }
  if (l.nano_cpus)
    r.nano_cpus = static_cast<int64_t>(*l.nano_cpus);
  if (l.pids)
    r.pids_limit = static_cast<int64_t>(*l.pids);
}

// bundle/config.json's linux.resources: memory, cpu and pids set from the record's limits.
void write_config(const std::string &root, const container::Record &r) {
  std::string path = container::dir_of(root, r.id) + "/bundle/config.json";
  auto text = sys::read_file_if_exists(path, 4 << 20);
  if (!text)
    return; // a bundle not written yet: koker-run writes it from the record
  json::Value config = json::parse(*text, path);
  json::Value *linux = config.find("linux");
  if (!linux || !linux->is_object())
    fail("unable to update ", path, ": it has no linux object");
  cgroup::Limits l;
  if (r.memory > 0) {
    l.memory = static_cast<uint64_t>(r.memory);
    l.swap = r.memory_swap == -1 ? cgroup::UNLIMITED : static_cast<uint64_t>(r.memory_swap - r.memory);
  }
  if (r.nano_cpus > 0)
    l.nano_cpus = static_cast<uint64_t>(r.nano_cpus);
  if (r.pids_limit > 0)
    l.pids = static_cast<uint64_t>(r.pids_limit);
  // the limits only: the device rules (--device, --privileged) stay as they are
  json::Value *res = linux->find("resources");
  if (!res || !res->is_object())
    res = &linux->set("resources", json::Value::object());
  json::Value limits = run_spec::limit_resources(l);
  for (const auto &[key, value] : limits.members())
    res->set(key, value);
  log::debug("write ", path, " (linux.resources)");
  sys::write_file_atomic(path, config.dump(1));
}

} // namespace

static int update_main(int argc, char **argv) {
  enum { OPT_SWAP = 1, OPT_CPUS, OPT_PIDS };
  auto opts = cli::long_options({{"memory", required_argument, nullptr, 'm'},
                                 {"memory-swap", required_argument, nullptr, OPT_SWAP},
                                 {"cpus", required_argument, nullptr, OPT_CPUS},
                                 {"pids-limit", required_argument, nullptr, OPT_PIDS}});
  Asked a;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "m:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    try {
      switch (c) {
      case 'm':
        cgroup::parse_limit_option(a.limits, "--memory", optarg);
        break;
      case OPT_CPUS:
        cgroup::parse_limit_option(a.limits, "--cpus", optarg);
        break;
      case OPT_PIDS:
        cgroup::parse_limit_option(a.limits, "--pids-limit", optarg);
        break;
      case OPT_SWAP:
        if (std::string_view(optarg) == "-1") { // docker: unlimited swap
          a.total = cgroup::UNLIMITED;
          break;
        }
        try {
          a.total = cgroup::parse_size(optarg);
        } catch (const Error &e) {
          std::string why = e.what(); // "invalid size value '12q': ..."
          fail("invalid --memory-swap", why.substr(why.find(" value '")));
        }
        break;
      default:
        cli::bad_option(c, argv);
      }
    } catch (const Error &e) {
      cli::usage_error(e.what());
    }
  }
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  if (a.limits.empty() && !a.total)
    cli::usage_error("you must provide one or more flags when using this command");
  std::string root = store_root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    container::Record rec = container::refresh(root, container::get(root, name));
    // Limits kept for a later start would never apply either: say so now, as podman does.
    if (rootless::active() && !cgroup::Group::open(rec.id, rec.cgroup_parent))
      fail("unable to update container ", rec.name, ": ", rootless::NO_CGROUP);
    cgroup::Limits l = merged(a, rec);
    // The cgroup first: a limit the kernel refuses (below current use) changes nothing.
    if (rec.status == "running")
      if (auto group = cgroup::Group::open(rec.id, rec.cgroup_parent)) {
        group->extend(l); // a CPU limit on a container started without one: the cpu group
        group->set(l);
      }
    container::Record now;
    if (!container::update(root, rec.id, [&](container::Record &r) {
          record(r, l);
          now = r;
        }))
      fail("no such container: ", name);
    write_config(root, now);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-update", USAGE, update_main); }
