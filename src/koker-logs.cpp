// SPDX-License-Identifier: MIT
// koker-logs: a detached container's recorded output.
#include "store/container.hpp"
#include "store/container_log.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-logs [OPTIONS] CONTAINER\n"
    "\n"
    "Print what a detached container wrote to its stdout and stderr.\n"
    "\n"
    "Options:\n"
    "  -f, --follow     keep printing new output until the container exits\n"
    "  -q, --quiet      print nothing but the output and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int logs_main(int argc, char **argv) {
  auto opts = cli::long_options({{"follow", no_argument, nullptr, 'f'}});
  bool follow = false;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "f";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c == 'f')
      follow = true;
    else
      cli::bad_option(c, argv);
  }
  if (optind + 1 != argc)
    cli::usage_error(optind == argc ? "CONTAINER is missing" : "too many arguments");
  std::string root = store_root();
  container::Record rec = container::get(root, argv[optind]);
  container_log::print(root, rec.id, false, follow);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-logs", USAGE, logs_main); }
