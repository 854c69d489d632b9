// SPDX-License-Identifier: MIT
// koker-logs: a detached container's recorded output.
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include <fcntl.h>
#include <poll.h>
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
    "      --root DIR   the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

// Copies what fd holds from its current offset to stdout; false when nothing was there.
static bool copy_new(int fd) {
  bool any = false;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    out::text(std::string_view(buf, static_cast<size_t>(n)));
    any = true;
  }
  return any;
}

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
  std::string path = container::dir_of(root, rec.id) + "/container.log";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno != ENOENT)
    sys_fail("unable to open ", path);
  if (fd)
    copy_new(fd.get());
  while (follow) {
    // Checked before the last read, so nothing written just before the exit is lost.
    auto now = container::load(root, rec.id);
    bool running = now && container::refresh(*now).status == "running";
    if (!fd)
      fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    bool got = fd && copy_new(fd.get());
    if (!running && !got)
      break;
    if (!got)
      ::poll(nullptr, 0, 100);
  }
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-logs", USAGE, logs_main); }
