// SPDX-License-Identifier: MIT
// koker-pause: freeze every process of containers (docker pause), or thaw them (--unpause).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-pause [OPTIONS] CONTAINER...\n"
    "\n"
    "Freeze every process of each CONTAINER through its cgroup (the v1 freezer, or\n"
    "cgroup.freeze on v2), or thaw them with --unpause. Prints each CONTAINER.\n"
    "\n"
    "Options:\n"
    "  -u, --unpause    thaw the containers (docker unpause)\n"
    "  -q, --quiet      print nothing but the containers and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int pause_main(int argc, char **argv) {
  auto opts = cli::long_options({{"unpause", no_argument, nullptr, 'u'}});
  bool paused = true;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "u";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'u':
      paused = false;
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::string root = store_root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    lifecycle::pause(root, container::get(root, name), paused);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-pause", USAGE, pause_main); }
