// SPDX-License-Identifier: MIT
// koker-stop: the stop signal, then SIGKILL after a grace period; with -s, one signal (docker kill).
#include "store/container.hpp"
#include "base/error.hpp"
#include "runtime/lifecycle.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include <csignal>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-stop [OPTIONS] CONTAINER...\n"
    "\n"
    "Stop containers: the stop signal (run --stop-signal, else the image's, else SIGTERM) to the\n"
    "first process, then SIGKILL to every process after the grace period. Prints each\n"
    "CONTAINER stopped.\n"
    "\n"
    "Options:\n"
    "  -t, --time SECS      seconds to wait before killing (default: run --stop-timeout, or 10)\n"
    "  -s, --signal SIGNAL  send this one signal instead (KILL, TERM, HUP, 9, ...)\n"
    "  -q, --quiet          print nothing but the containers and errors\n"
    "  -D, --debug          trace every step on stderr\n"
    "      --root DIR       the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help           show this help\n"
    "      --version        show the version\n";

static int stop_main(int argc, char **argv) {
  auto opts = cli::long_options({{"time", required_argument, nullptr, 't'},
                                 {"signal", required_argument, nullptr, 's'}});
  int timeout = -1, signal = 0; // -1: the container's own StopTimeout, else 10
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "t:s:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 't': {
      auto n = sys::parse_uint(optarg);
      if (!n || *n > 86400)
        cli::usage_error(cat("invalid --time ", printable(optarg), " (seconds, 0 to 86400)"));
      timeout = static_cast<int>(*n);
      break;
    }
    case 's':
      try {
        signal = lifecycle::parse_signal(optarg);
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    default: cli::bad_option(c, argv);
    }
  }
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::string root = store_root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    // stop() settles a container whose supervisor was killed (lifecycle::settle).
    lifecycle::stop(root, container::get(root, name), timeout, signal);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-stop", USAGE, stop_main); }
