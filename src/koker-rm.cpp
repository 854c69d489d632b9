// SPDX-License-Identifier: MIT
// koker-rm: remove containers and everything they hold on the host.
#include "store/container.hpp"
#include "base/error.hpp"
#include "runtime/lifecycle.hpp"
#include "base/log.hpp"
#include "base/main.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-rm [OPTIONS] CONTAINER...\n"
    "\n"
    "Remove containers (by ID, 12+ hex of one, or name) with their cgroup, network, name and\n"
    "files. Prints each CONTAINER removed.\n"
    "\n"
    "Options:\n"
    "  -f, --force      kill a running container first\n"
    "  -q, --quiet      print nothing but the removed containers and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int rm_main(int argc, char **argv) {
  bool force = cli::parse_force_option(argc, argv);
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::string root = store_root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    lifecycle::remove(root, container::get(root, name), force);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rm", USAGE, rm_main); }
