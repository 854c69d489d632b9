// SPDX-License-Identifier: MIT
// koker-restart: stop containers as koker-stop does, then start them as koker-start does.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/start.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <csignal>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-restart [OPTIONS] CONTAINER...\n"
    "\n"
    "Restart containers: stop each (SIGTERM, then SIGKILL after the grace period), then\n"
    "start it again detached, with its files as it left them. Prints each CONTAINER.\n"
    "\n"
    "Options:\n"
    "  -t, --time SECS  seconds to wait before killing (default 10)\n"
    "  -q, --quiet      print nothing but the containers and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int restart_main(int argc, char **argv) {
  auto opts = cli::long_options({{"time", required_argument, nullptr, 't'}});
  int timeout = 10;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "t:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c != 't')
      cli::bad_option(c, argv);
    auto n = sys::parse_uint(optarg);
    if (!n || *n > 86400)
      cli::usage_error(cat("invalid --time ", printable(optarg), " (seconds, 0 to 86400)"));
    timeout = static_cast<int>(*n);
  }
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  ::signal(SIGPIPE, SIG_IGN);
  lifecycle::stop_outside(store_root(), argc, argv, timeout);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  const std::string root = store.root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    container::Record rec = container::get(root, name);
    lifecycle::stop(root, rec, timeout, 0);
    start::run(store, container::get(root, rec.id), false, false);
    out::line(name);
  });
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-restart", USAGE, restart_main);
}
