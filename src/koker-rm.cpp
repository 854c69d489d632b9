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
    auto id = container::find_id(root, name);
    if (!id)
      fail("no such container: ", printable(name));
    std::optional<container::Record> rec;
    try {
      rec = container::load(root, *id);
    } catch (const Error &e) {
      if (!force)
        fail(e.what(), " (koker-rm -f removes the container all the same)");
      lifecycle::remove_unreadable(root, *id);
      out::line(name);
      return;
    }
    if (!rec)
      fail("no such container: ", printable(name));
    lifecycle::remove(root, *rec, force);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rm", USAGE, rm_main); }
