// SPDX-License-Identifier: MIT
// koker-push: upload an image of the store to a registry; print the manifest digest.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "image/push.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"
#include <csignal>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-push [OPTIONS] NAME[:TAG] [DESTINATION]\n"
    "\n"
    "Upload the image NAME[:TAG] to its registry and print the manifest digest (sha256:...).\n"
    "With DESTINATION ([REGISTRY[:PORT]/]NAME[:TAG]), push the image NAME[:TAG] (or an ID)\n"
    "there instead. Blobs the registry has are not sent again; blobs another repository of\n"
    "the same registry holds are mounted from it.\n"
    "\n"
    "Options:\n"
    "      --compression gzip|zstd  send the layers compressed this way (recompressed once\n"
    "                               and kept in the store); default: as stored\n"
    "      --tls-verify=false       talk plain HTTP to the registry (as "
    "KOKER_INSECURE_REGISTRIES)\n"
    "  -q, --quiet                  print nothing but the digest and errors\n"
    "  -D, --debug                  trace every step on stderr\n"
    "      --root DIR               the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                   show this help\n"
    "      --version                show the version\n";

static int push_main(int argc, char **argv) {
  enum { OPT_COMPRESSION = 1, OPT_TLS_VERIFY };
  auto opts = cli::long_options({{"compression", required_argument, nullptr, OPT_COMPRESSION},
                                 {"tls-verify", optional_argument, nullptr, OPT_TLS_VERIFY}});
  std::optional<compress::Kind> compression;
  bool tls_verify = true;
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case OPT_COMPRESSION:
      if (std::string_view(optarg) == "gzip")
        compression = compress::Kind::gzip;
      else if (std::string_view(optarg) == "zstd")
        compression = compress::Kind::zstd;
      else
        cli::usage_error(cat("invalid --compression ", printable(optarg), " (gzip or zstd)"));
      break;
    case OPT_TLS_VERIFY:
      tls_verify = cli::bool_option("--tls-verify", optarg);
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind == argc)
    cli::usage_error("NAME is missing");
  if (argc - optind > 2)
    cli::usage_error("too many arguments");
  std::string image = argv[optind];
  std::string dest = argc - optind == 2 ? argv[optind + 1] : image;
  // Checked before the store is touched. A digest names no tag to push to.
  registry::Reference target = registry::parse_reference(dest);
  if (!target.digest.empty())
    cli::usage_error(cat("cannot push to a digest reference ", printable(dest)));
  if (!tls_verify) {
    std::string list = sys::env("KOKER_INSECURE_REGISTRIES");
    ::setenv("KOKER_INSECURE_REGISTRIES",
             cat(list, list.empty() ? "" : ",", target.registry).c_str(),
             1); // where lib/image/registry.cpp reads it
  }

  ::signal(SIGPIPE, SIG_IGN);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  // Shared with pulls: a clean-up (rmi) waits, so no blob goes while it is being sent.
  auto busy = store.lock_for_pull();
  auto rec = store.find_image(image, registry::reference_key(image));
  if (!rec)
    fail("no such image: ", printable(image));
  log::info("The push refers to repository [", target.registry, "/", target.repository, "]");
  push::Pushed p = push::push_image(store, *rec, target, compression, printable(image));
  log::info(target.tag, ": digest: ", p.digest, " size: ", p.size);
  // As docker: the image now has the pushed digest among its RepoDigests (a later push to
  // another repository of that registry mounts from it).
  if (p.digest == rec->manifest_digest) {
    store::ImageRecord with = *rec;
    with.repo_tags.clear();
    with.repo_digests = {cat(target.name(), "@", p.digest)};
    store.add_image(with);
  }
  out::line(p.digest);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-push", USAGE, push_main); }
