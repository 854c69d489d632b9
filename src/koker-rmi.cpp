// SPDX-License-Identifier: MIT
// koker-rmi: remove image references; layers go when no image uses them.
#include "error.hpp"
#include "log.hpp"
#include "main.hpp"
#include "store.hpp"

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
    "      --root DIR   the store (default /var/lib/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int rmi_main(int argc, char **argv) {
  auto opts = cli::long_options({{"force", no_argument, nullptr, 'f'}});
  bool force = false;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "f";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c == 'f')
      force = true;
    else
      cli::bad_option(c, argv);
  }
  if (optind == argc)
    cli::usage_error("IMAGE is missing");
  store::Store store(store_root());
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    auto res = store.remove_image(name, store::reference_key(name), force);
    for (const auto &t : res.untagged)
      log::info("untagged: ", t);
    for (const auto &id : res.deleted)
      out::line(id);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-rmi", USAGE, rmi_main); }
