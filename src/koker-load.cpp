// SPDX-License-Identifier: MIT
// koker-load: put the images of a docker save, podman save or oci-archive tar into the store.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/userns.hpp"
#include "image/archive.hpp"
#include "image/ingest.hpp"
#include "image/sources.hpp"
#include "store/store.hpp"
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-load [OPTIONS]\n"
    "\n"
    "Load the images of a tar archive (stdin unless -i) into the store, with their tags:\n"
    "docker save's archive (with or without the legacy per-layer directories), an\n"
    "oci-archive, or Docker 25's layout holding both; layers plain, gzip or zstd. Prints\n"
    "\"Loaded image: NAME:TAG\" for each tag, \"Loaded image ID: sha256:...\" for an untagged\n"
    "image.\n"
    "\n"
    "Options:\n"
    "  -i, --input FILE   read the archive from FILE instead of stdin\n"
    "  -q, --quiet        print nothing on stderr but errors\n"
    "  -D, --debug        trace every step on stderr\n"
    "      --root DIR     the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help         show this help\n"
    "      --version      show the version\n";

// The archive is untrusted: it is unpacked into a fresh directory of the store's tmp/ with
// the rules of every layer (no "..", nothing outside it, capped size), its files are then
// read only beneath that directory, and every blob is checked against its digest.
static void load(const store::Store &store, int fd, const std::string &shown) {
  auto busy = store.lock_for_pull();
  std::string tmp = store.make_tmp_dir();
  sys::Rollback cleanup;
  cleanup.add("rm -rf " + tmp, [tmp] { sys::rm_rf(tmp); });
  log::debug("unpack ", shown, " into ", tmp);
  archive::extract_tar(fd, tmp, archive::Limits::from_env());
  image::Platform host = image::Platform::host();
  auto images = sources::from_archive(tmp, host);
  for (auto &r : images) {
    std::string id = ingest::pull_image(store, *r.source, r.manifest, r.names, host, shown);
    if (r.names.repo_tags.empty())
      out::line(cat("Loaded image ID: ", id));
    for (const auto &t : r.names.repo_tags)
      out::line(cat("Loaded image: ", t));
  }
}

static int load_main(int argc, char **argv) {
  auto opts = cli::long_options({{"input", required_argument, nullptr, 'i'}});
  std::string input;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "i:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'i':
      input = optarg;
      if (input.empty())
        cli::usage_error("--input needs a file name");
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind != argc)
    cli::usage_error("too many arguments");
  if (input.empty() && ::isatty(0))
    fail("requested load from stdin, but stdin is a terminal: use the -i flag or redirect");
  ::signal(SIGPIPE, SIG_IGN);

  Fd file;
  if (!input.empty()) {
    log::debug("open ", input);
    file.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file)
      sys_fail("unable to open ", input);
  }
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  try {
    load(store, file ? file.get() : 0, input.empty() ? "stdin" : input);
  } catch (...) {
    // Layers and blobs of an image that failed halfway belong to no image: remove them now
    // rather than at the next clean-up (later, when a pull is running).
    lifecycle::reclaim_abandoned(store.root());
    store.collect_garbage();
    throw;
  }
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-load", USAGE, load_main); }
