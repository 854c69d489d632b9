// SPDX-License-Identifier: MIT
// koker-pull: fetch or import an image into the store; print its ID.
#include "runtime/userns.hpp"
#include "image/archive.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "image/ingest.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "image/sources.hpp"
#include "store/store.hpp"
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-pull [OPTIONS] SOURCE\n"
    "\n"
    "Fetch or import an image into the store and print its ID (sha256:...).\n"
    "\n"
    "Sources:\n"
    "  [docker://][REGISTRY[:PORT]/]NAME[:TAG|@sha256:DIGEST]   a registry image\n"
    "  oci:DIR[:TAG]             an OCI image layout\n"
    "  oci-archive:FILE[:TAG]    an OCI image layout in a tar file\n"
    "  docker-archive:FILE       `docker save` output\n"
    "  dir:ROOTFS                a root filesystem (directory or tar file) as a one-layer image\n"
    "\n"
    "Options:\n"
    "      --platform OS/ARCH[/VARIANT]  pick this entry of a multi-platform image\n"
    "      --tag NAME[:TAG]              name the image (local sources)\n"
    "      --stall-timeout SECONDS       give up on a transfer after SECONDS without data\n"
    "                                    (default 60, or KOKER_STALL_TIMEOUT)\n"
    "  -q, --quiet                       print nothing but the ID and errors\n"
    "  -D, --debug                       trace every step on stderr\n"
    "      --root DIR                    the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                        show this help\n"
    "      --version                     show the version\n";

// Unpacks an archive of an image (oci-archive:, docker-archive:) into dir.
static void unpack_archive(const std::string &file, const std::string &dir) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    sys_fail("unable to open ", file);
  log::debug("unpack ", file, " into ", dir);
  archive::extract_tar(fd.get(), dir, archive::Limits::from_env());
}

static int pull_main(int argc, char **argv) {
  enum { OPT_PLATFORM = 1, OPT_TAG, OPT_STALL_TIMEOUT };
  auto opts = cli::long_options({{"platform", required_argument, nullptr, OPT_PLATFORM},
                                 {"tag", required_argument, nullptr, OPT_TAG},
                                 {"stall-timeout", required_argument, nullptr, OPT_STALL_TIMEOUT}});
  image::Platform platform = image::Platform::host();
  std::string tag;
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case OPT_PLATFORM:
      platform = image::Platform::parse(optarg);
      break;
    case OPT_TAG:
      tag = optarg;
      break;
    case OPT_STALL_TIMEOUT: {
      auto s = sys::parse_uint(optarg);
      if (!s || *s == 0 || *s >= 3600)
        cli::usage_error(
            cat("invalid --stall-timeout ", printable(optarg), " (1 to 3599 seconds)"));
      ::setenv("KOKER_STALL_TIMEOUT", optarg, 1); // where lib/image/http.cpp reads it
      break;
    }
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind + 1 != argc)
    cli::usage_error(optind == argc ? "SOURCE is missing" : "too many arguments");
  std::string_view source = argv[optind];
  if (!tag.empty())
    tag = sources::normalise_tag(tag); // checked before anything is fetched

  // A writer that dies on a closed pipe would leave no message: report EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  auto busy = store.lock_for_pull();
  std::string tmp = store.make_tmp_dir();
  sys::Rollback cleanup;
  cleanup.add("rm -rf " + tmp, [tmp] { sys::rm_rf(tmp); });

  sources::Resolved r;
  if (text::starts_with(source, "oci:")) {
    auto [dir, t] = sources::split_path_tag(source.substr(4));
    r = sources::from_oci_layout(dir, t, platform);
  } else if (text::starts_with(source, "oci-archive:")) {
    auto [file, t] = sources::split_path_tag(source.substr(12));
    unpack_archive(file, tmp);
    r = sources::from_oci_layout(tmp, t, platform);
  } else if (text::starts_with(source, "docker-archive:")) {
    unpack_archive(std::string(source.substr(15)), tmp);
    r = sources::from_docker_save(tmp);
  } else if (text::starts_with(source, "dir:")) {
    r = sources::from_rootfs(store, std::string(source.substr(4)), tmp);
  } else {
    r = sources::from_registry(source, platform);
  }
  if (!tag.empty())
    r.names.repo_tags = {tag};
  std::string id = ingest::pull_image(store, *r.source, r.manifest, r.names, platform,
                                     printable(source, 1024));
  out::line(id);
  return 0;
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-pull", USAGE, pull_main);
}
