// SPDX-License-Identifier: MIT
// koker-tag: another name for an image (docker tag).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "image/reference.hpp"
#include "image/sources.hpp"
#include "store/store.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-tag [OPTIONS] SOURCE TARGET\n"
    "\n"
    "Name the image SOURCE (a name, an ID or a unique ID prefix) TARGET as well\n"
    "([REGISTRY/]NAME[:TAG], :latest when no tag is given). A TARGET another image had\n"
    "moves to this one.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int tag_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (argc - optind != 2)
    cli::usage_error("expected SOURCE and TARGET");
  std::string source = argv[optind];
  std::string target = sources::normalise_tag(argv[optind + 1]);
  store::Store store(store_root());
  auto img = store.find_image(source, registry::reference_key(source));
  if (!img)
    fail("no such image: ", printable(source));
  store::ImageRecord rec = *img;
  rec.repo_tags = {target};
  rec.repo_digests.clear();
  log::debug("tag ", img->id, " ", target, " in ", store.root(), "/images.json");
  store.add_image(rec);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-tag", USAGE, tag_main); }
