// SPDX-License-Identifier: MIT
// koker-rename: give a container another name (docker rename).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "store/container.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-rename [OPTIONS] CONTAINER NEW_NAME\n"
    "\n"
    "Rename a container: NEW_NAME is claimed, then the old name is released. The container's\n"
    "/etc/hosts keeps the name it started with, as docker's does.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int rename_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (argc - optind != 2)
    cli::usage_error("expected CONTAINER and NEW_NAME");
  std::string new_name = argv[optind + 1];
  std::string root = store_root();
  container::Record rec = container::get(root, argv[optind]);
  if (rec.name == new_name)
    fail("renaming a container with the same name as its current name");
  // Claimed first (O_EXCL, race-free), released again if the record cannot take it.
  container::claim_name(root, new_name, rec.id);
  sys::Rollback undo;
  undo.add("release the name " + new_name, [&] { container::release_name(root, new_name); });
  std::string old_name;
  if (!container::update(root, rec.id, [&](container::Record &r) {
        old_name = r.name;
        log::debug("rename container ", r.id.substr(0, 12), ": ", r.name, " -> ", new_name);
        r.name = new_name;
      }))
    fail("no such container: ", argv[optind]);
  undo.dismiss();
  if (!old_name.empty())
    container::release_name(root, old_name);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rename", USAGE, rename_main); }
