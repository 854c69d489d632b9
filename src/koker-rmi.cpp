// SPDX-License-Identifier: MIT
// koker-rmi: remove image references; layers go when no image uses them.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/userns.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-rmi [OPTIONS] IMAGE...\n"
    "\n"
    "Remove images: a NAME:TAG removes that tag, and the image goes with its last tag; an ID\n"
    "removes the image. Layers no other image uses are deleted. Prints the deleted IDs.\n"
    "\n"
    "Options:\n"
    "  -f, --force      remove an image ID even when several tags name it\n"
    "  -q, --quiet      print nothing but IDs and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int rmi_main(int argc, char **argv) {
  bool force = cli::parse_force_option(argc, argv);
  if (optind == argc)
    cli::usage_error("IMAGE is missing");
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  // What killed koker-runs left half created goes first: its cgroup and mount with it, which
  // the store's garbage collection (below the runtime) cannot take down.
  lifecycle::reclaim_abandoned(store.root());
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    auto res = store.remove_image(name, registry::reference_key(name), force);
    for (const auto &t : res.untagged)
      log::info("untagged: ", t);
    for (const auto &id : res.deleted)
      out::line(id);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rmi", USAGE, rmi_main); }
