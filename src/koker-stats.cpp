// SPDX-License-Identifier: MIT
// koker-stats: docker's one-shot stats table for running containers, from their cgroups.
#include "cgroup/cgroup.hpp"
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/rootless.hpp"
#include <algorithm>
#include <chrono>
#include <thread>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-stats [OPTIONS] [CONTAINER...]\n"
    "\n"
    "Print one sample of the resource use of running containers (all of them, or those named):\n"
    "CPU %, memory use and limit, processes, as docker stats --no-stream does.\n"
    "\n"
    "Options:\n"
    "      --format table|json  a table (default) or one JSON array\n"
    "      --no-stream          accepted for docker's scripts: there is only ever one sample\n"
    "  -q, --quiet              print nothing but data and errors\n"
    "  -D, --debug              trace every step on stderr\n"
    "      --root DIR           the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help               show this help\n"
    "      --version            show the version\n";

struct Row {
  container::Record rec;
  std::optional<cgroup::Group> group;
  uint64_t cpu_before = 0;
  cgroup::Stats stats;
  double cpu_percent = 0;
};

// The containers to show: those named, else every running one, newest first.
static std::vector<Row> select_rows(int argc, char **argv, const std::string &root) {
  std::vector<Row> rows;
  if (optind < argc) {
    for (int i = optind; i < argc; ++i)
      rows.push_back({container::refresh(root, container::get(root, argv[i])), {}, 0, {}, 0});
  } else {
    for (auto &r : container::list(root))
      if (container::refresh(root, r).status == "running")
        rows.push_back({r, {}, 0, {}, 0});
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row &a, const Row &b) { return a.rec.created > b.rec.created; });
  return rows;
}

// Each row's cgroup statistics. CPU % needs two samples: the CPU time used over a short
// wall-clock interval.
static void sample(std::vector<Row> &rows) {
  for (auto &r : rows) {
    if ((r.group = cgroup::Group::open(r.rec.id, r.rec.cgroup_parent)))
      r.cpu_before = r.group->stats().cpu_usage_ns.value_or(0);
    else if (rootless::active()) // zeros would pass for figures: podman refuses too
      fail("no statistics for container ", r.rec.name, ": ", rootless::NO_CGROUP);
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!rows.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  double wall_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  for (auto &r : rows)
    if (r.group) {
      r.stats = r.group->stats();
      uint64_t used = r.stats.cpu_usage_ns.value_or(r.cpu_before) - r.cpu_before;
      r.cpu_percent = wall_ns > 0 ? 100.0 * static_cast<double>(used) / wall_ns : 0;
    }
}

static std::string percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", value);
  return text;
}

static double mem_percent(const cgroup::Stats &s) {
  if (!s.memory_usage || !s.memory_limit || *s.memory_limit == cgroup::UNLIMITED ||
      *s.memory_limit == 0)
    return 0.0;
  return 100.0 * static_cast<double>(*s.memory_usage) / static_cast<double>(*s.memory_limit);
}

static void print_json(const std::vector<Row> &rows) {
  json::Value list = json::Value::array();
  for (const auto &r : rows) {
    json::Value v = json::Value::object();
    v.set("ID", r.rec.id);
    v.set("Name", r.rec.name);
    v.set("CPUPerc", percent(r.cpu_percent));
    v.set("MemUsage", json::Value(r.stats.memory_usage.value_or(0)));
    v.set("MemLimit", json::Value(r.stats.memory_limit.value_or(0)));
    v.set("PIDs", json::Value(r.stats.pids_current.value_or(0)));
    list.push(std::move(v));
  }
  out::line(list.dump(2));
}

static void print_table(const std::vector<Row> &rows) {
  std::vector<std::vector<std::string>> table = {
      {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"}};
  for (const auto &r : rows) {
    uint64_t limit = r.stats.memory_limit.value_or(cgroup::UNLIMITED);
    std::string usage = human_size_binary(r.stats.memory_usage.value_or(0)) + " / " +
                        (limit == cgroup::UNLIMITED ? std::string("unlimited")
                                                    : human_size_binary(limit));
    table.push_back({r.rec.id.substr(0, 12), r.rec.name, percent(r.cpu_percent), usage,
                     percent(mem_percent(r.stats)),
                     std::to_string(r.stats.pids_current.value_or(0))});
  }
  out::text(render_table(table));
}

static int stats_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_NO_STREAM };
  // --no-stream is accepted for docker's scripts: koker-stats always prints one sample.
  auto opts = cli::long_options({{"format", required_argument, nullptr, OPT_FORMAT},
                                 {"no-stream", no_argument, nullptr, OPT_NO_STREAM}});
  std::string format = "table";
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) !=
              -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c == OPT_FORMAT)
      format = optarg;
    else if (c != OPT_NO_STREAM)
      cli::bad_option(c, argv);
  }
  cli::check_format(format);
  std::vector<Row> rows = select_rows(argc, argv, store_root());
  sample(rows);
  if (format == "json")
    print_json(rows);
  else
    print_table(rows);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-stats", USAGE, stats_main); }
