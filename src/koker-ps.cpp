// SPDX-License-Identifier: MIT
// koker-ps: list containers, with docker's columns.
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include <algorithm>
#include <ctime>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-ps [OPTIONS]\n"
    "\n"
    "List the running containers (all of them with -a).\n"
    "\n"
    "Options:\n"
    "  -a, --all                show stopped containers too\n"
    "      --format table|json  a table (default) or one JSON array\n"
    "      --no-trunc           full IDs and commands\n"
    "  -q, --quiet              print container IDs only\n"
    "  -D, --debug              trace every step on stderr\n"
    "      --root DIR           the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help               show this help\n"
    "      --version            show the version\n";

// docker's STATUS column.
static std::string status_of(const container::Record &r) {
  if (r.status == "running")
    return "Up " + human_duration(static_cast<int64_t>(::time(nullptr)) -
                                  parse_rfc3339(r.started_at).value_or(::time(nullptr)));
  if (r.status == "restarting") // docker's: the last exit code, and when it was
    return r.finished_at.empty() ? cat("Restarting (", r.exit_code, ")")
                                 : cat("Restarting (", r.exit_code, ") ", time_ago(r.finished_at));
  if (r.status == "exited")
    return r.finished_at.empty() ? cat("Exited (", r.exit_code, ")") // when, nobody saw
                                 : cat("Exited (", r.exit_code, ") ", time_ago(r.finished_at));
  return "Created";
}

static std::string command_of(const container::Record &r, bool no_trunc) {
  std::string cmd = r.path;
  for (const auto &a : r.args)
    cmd += " " + a;
  if (!no_trunc && cmd.size() > 20)
    cmd = cmd.substr(0, 19) + "\u2026";
  return "\"" + cmd + "\"";
}

// Published ports are held only while the container runs: docker shows none for the others.
static std::string ports_of(const container::Record &r) {
  std::string s;
  if (r.status != "running")
    return s;
  for (const auto &p : r.publish)
    s += (s.empty() ? "" : ", ") + p;
  return s;
}

static int ps_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_NO_TRUNC };
  auto opts = cli::long_options({{"all", no_argument, nullptr, 'a'},
                                 {"format", required_argument, nullptr, OPT_FORMAT},
                                 {"no-trunc", no_argument, nullptr, OPT_NO_TRUNC}});
  bool all = false, ids_only = false, no_trunc = false;
  std::string format = "table";
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "a";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (c == 'q') {
      ids_only = true; // docker's -q: IDs only
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'a': all = true; break;
    case OPT_FORMAT: format = optarg; break;
    case OPT_NO_TRUNC: no_trunc = true; break;
    default: cli::bad_option(c, argv);
    }
  }
  cli::check_format(format);
  if (optind != argc)
    cli::usage_error("koker-ps takes no arguments");

  std::string root = store_root();
  std::vector<container::Record> rows;
  for (const auto &r : container::list(root)) {
    // Finishes what a killed supervisor left: an --rm container found dead goes.
    auto now = lifecycle::settle(root, r);
    // docker lists a container waiting to restart with the running ones.
    if (now && (all || now->status == "running" || now->status == "restarting"))
      rows.push_back(std::move(*now));
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto &a, const auto &b) { return a.created > b.created; });

  if (ids_only) {
    std::string out;
    for (const auto &r : rows)
      out += (no_trunc ? r.id : r.id.substr(0, 12)) + "\n";
    out::text(out);
    return 0;
  }
  if (format == "json") {
    json::Value list = json::Value::array();
    for (const auto &r : rows) {
      json::Value v = json::Value::object();
      v.set("Id", r.id);
      v.set("Image", r.image);
      v.set("Command", command_of(r, true));
      v.set("Created", r.created);
      v.set("State", r.status);
      v.set("Status", status_of(r));
      v.set("Ports", ports_of(r));
      v.set("Names", r.name);
      v.set("Pid", r.status == "running" ? r.pid : 0);
      v.set("ExitCode", r.exit_code);
      list.push(std::move(v));
    }
    out::line(list.dump(2));
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
  for (const auto &r : rows)
    table.push_back({no_trunc ? r.id : r.id.substr(0, 12), r.image, command_of(r, no_trunc),
                     time_ago(r.created), status_of(r), ports_of(r), r.name});
  std::string out = render_table(table);
  out::text(out);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-ps", USAGE, ps_main); }
