// SPDX-License-Identifier: MIT
// koker-attach: follow a detached container's output until it exits; its exit code.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"
#include "store/container_log.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-attach [OPTIONS] CONTAINER\n"
    "\n"
    "Attach to a running detached container: print its output from now on, as it writes\n"
    "it, and return its exit code when it exits. Its stdin is not attached (the supervisor\n"
    "keeps no channel to it).\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but the output and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int attach_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (optind + 1 != argc)
    cli::usage_error(optind == argc ? "CONTAINER is missing" : "too many arguments");
  std::string root = store_root();
  container::Record found = container::get(root, argv[optind]);
  auto rec = lifecycle::settle(root, found);
  // docker: "You cannot attach to a stopped container, start it first"
  if (!rec || rec->status != "running")
    fail("cannot attach to container ", found.id.substr(0, 12), ": it is not running (",
         rec ? rec->status : "removed", "): start it first");
  log::debug("follow ", container::dir_of(root, rec->id), "/container.log from its end");
  container_log::print(root, rec->id, true, true);
  auto now = container::load(root, rec->id);
  if (!now)
    return 0; // removed when it exited (--rm): its code went with it
  auto end = lifecycle::settle(root, *now);
  return end ? end->exit_code : 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-attach", USAGE, attach_main); }
