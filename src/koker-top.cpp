// SPDX-License-Identifier: MIT
// koker-top: a container's processes, as the host's ps shows them (docker top).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <set>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-top [OPTIONS] CONTAINER [ps OPTIONS]\n"
    "\n"
    "Show the processes of a running container: the host's ps (default options -ef) with\n"
    "only the lines of the processes in the container's cgroup, host PIDs as docker shows.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but the table and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int top_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  // "+": what follows CONTAINER is ps's options, not ours.
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::vector<std::string> ps_args = {"ps"};
  for (int i = optind + 1; i < argc; ++i)
    ps_args.emplace_back(argv[i]);
  if (ps_args.size() == 1)
    ps_args.emplace_back("-ef");
  std::string root = store_root();
  container::Record rec = container::refresh(root, container::get(root, argv[optind]));
  if (rec.status != "running" || rec.pid <= 0)
    fail("container ", rec.name, " is not running");
  // A rootless container has no cgroup here: its processes are those of its pid namespace.
  auto group = cgroup::Group::open(rec.id, rec.cgroup_parent);
  auto pids = group ? group->pids() : sys::pid_namespace_processes(rec.pid);
  std::set<std::string> in_container;
  for (pid_t p : pids)
    in_container.insert(std::to_string(p));

  std::string shown;
  for (size_t i = 1; i < ps_args.size(); ++i)
    shown += " " + ps_args[i];
  log::debug("run ps", shown);
  sys::Ran ps = sys::run_program("ps", ps_args);
  if (ps.status != 0)
    fail("ps", shown, " failed: ", printable(text::trim(ps.err), 300));
  auto lines = text::split(ps.out, '\n');
  if (lines.empty())
    fail("ps printed nothing");
  // docker's rule: the PID column is found by its header; ps options without one are refused.
  auto header = text::fields(lines[0], ' ');
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end())
    fail("couldn't find PID field in ps output");
  size_t pid_col = static_cast<size_t>(col - header.begin());
  std::string out = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = text::fields(lines[i], ' ');
    if (f.size() > pid_col && in_container.count(f[pid_col]))
      out += lines[i] + "\n";
  }
  out::text(out);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-top", USAGE, top_main); }
