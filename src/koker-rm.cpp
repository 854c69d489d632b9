// SPDX-License-Identifier: MIT
// koker-rm: remove containers and everything they hold on the host.
#include "runtime/userns.hpp"
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
    "  -v, --volumes    remove the container's anonymous volumes too\n"
    "  -q, --quiet      print nothing but the removed containers and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int rm_main(int argc, char **argv) {
  auto opts = cli::long_options(
      {{"force", no_argument, nullptr, 'f'}, {"volumes", no_argument, nullptr, 'v'}});
  bool force = false, volumes = false;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "fv";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c == 'f')
      force = true;
    else if (c == 'v') // docker's rm -v: the anonymous volumes only
      volumes = true;
    else
      cli::bad_option(c, argv);
  }
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::string root = store_root();
  if (force)
    lifecycle::stop_outside(root, argc, argv, 0);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
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
    lifecycle::remove(root, *rec, force, volumes);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rm", USAGE, rm_main); }
