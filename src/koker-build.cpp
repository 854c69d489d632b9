// SPDX-License-Identifier: MIT
// koker-build: a Dockerfile (or Containerfile) into an image, step by step, with a layer cache.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "build/builder.hpp"
#include "image/commit.hpp"
#include "image/sources.hpp"
#include "store/store.hpp"
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-build [OPTIONS] CONTEXT\n"
    "\n"
    "Build an image from a Dockerfile, as docker's classic builder does: every step an image,\n"
    "RUN in a container, a step whose parent, instruction and sources are unchanged taken\n"
    "from the cache. CONTEXT is a directory, or - for a Dockerfile on stdin and no context.\n"
    "Steps go to stderr, the image's ID (sha256:...) to stdout. SOURCE_DATE_EPOCH, when set,\n"
    "is every step's time and the latest file time in its layer: the same context gives the\n"
    "same image ID.\n"
    "\n"
    "Options:\n"
    "  -t, --tag NAME[:TAG]      name the image (repeatable)\n"
    "  -f, --file FILE           the Dockerfile (default CONTEXT/Dockerfile, else\n"
    "                            CONTEXT/Containerfile; - for stdin)\n"
    "      --build-arg K[=V]     set a build arg (without =V: from the environment)\n"
    "      --target STAGE        build up to this stage\n"
    "      --no-cache            use no cached step\n"
    "      --pull                pull every base image, even when stored\n"
    "      --network MODE        RUN's network: bridge (default), none or host\n"
    "      --label K=V           add a label to the image (repeatable)\n"
    "      --iidfile FILE        write the image's ID to FILE\n"
    "  -q, --quiet               print nothing but the ID and errors\n"
    "  -D, --debug               trace every step on stderr\n"
    "      --root DIR            the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                show this help\n"
    "      --version             show the version\n";

namespace {

enum { OPT_BUILD_ARG = 0x200, OPT_TARGET, OPT_NO_CACHE, OPT_PULL, OPT_NETWORK, OPT_LABEL,
       OPT_IIDFILE };

bool is_dir(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The Dockerfile: -f's file (relative to the working directory, as docker's), else the
// context's Dockerfile, else its Containerfile. Returns its text and sets name (for messages).
std::string read_dockerfile(const std::string &file, const std::string &context, bool stdin_used,
                            std::string &name) {
  std::string path = file;
  if (file == "-") {
    if (stdin_used)
      cli::usage_error("the Dockerfile and the context can not both be read from stdin");
    name = "Dockerfile";
    return sys::read_fd(0, 16 << 20, "the Dockerfile on stdin");
  }
  if (path.empty()) {
    if (context.empty())
      cli::usage_error("no context: give the Dockerfile on stdin with `-`");
    path = context + "/Dockerfile";
    if (!sys::exists(path) && sys::exists(context + "/Containerfile"))
      path = context + "/Containerfile";
  }
  auto text = sys::read_file_if_exists(path, 16 << 20);
  if (!text)
    fail("unable to read the Dockerfile: ", path, ": no such file");
  name = file.empty() ? path.substr(path.rfind('/') + 1) : file;
  return *text;
}

int build_main(int argc, char **argv) {
  auto opts = cli::long_options({{"tag", required_argument, nullptr, 't'},
                                 {"file", required_argument, nullptr, 'f'},
                                 {"build-arg", required_argument, nullptr, OPT_BUILD_ARG},
                                 {"target", required_argument, nullptr, OPT_TARGET},
                                 {"no-cache", no_argument, nullptr, OPT_NO_CACHE},
                                 {"pull", no_argument, nullptr, OPT_PULL},
                                 {"network", required_argument, nullptr, OPT_NETWORK},
                                 {"label", required_argument, nullptr, OPT_LABEL},
                                 {"iidfile", required_argument, nullptr, OPT_IIDFILE}});
  builder::Options o;
  std::string file, iidfile;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "t:f:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 't':
      o.tags.push_back(sources::normalise_tag(optarg));
      break;
    case 'f':
      file = optarg;
      break;
    case OPT_BUILD_ARG: {
      std::string a = optarg;
      auto eq = a.find('=');
      if (eq == 0 || a.empty())
        cli::usage_error(cat("invalid --build-arg ", printable(a), ": expected KEY[=VALUE]"));
      if (eq == std::string::npos) {
        const char *v = ::getenv(a.c_str());
        if (v) // docker: a name alone takes the environment's value, when there is one
          o.build_args[a] = v;
      } else {
        o.build_args[a.substr(0, eq)] = a.substr(eq + 1);
      }
      break;
    }
    case OPT_TARGET:
      o.target = optarg;
      break;
    case OPT_NO_CACHE:
      o.no_cache = true;
      break;
    case OPT_PULL:
      o.pull = true;
      break;
    case OPT_NETWORK:
      o.network = optarg;
      if (o.network == "default")
        o.network = "bridge";
      if (o.network != "bridge" && o.network != "none" && o.network != "host")
        cli::usage_error(cat("invalid --network ", printable(o.network),
                             ": expected bridge, none or host"));
      break;
    case OPT_LABEL: {
      std::string l = optarg;
      auto eq = l.find('=');
      if (eq == 0 || l.empty())
        cli::usage_error(cat("invalid --label ", printable(l), ": expected KEY=VALUE"));
      o.labels.emplace_back(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
      break;
    }
    case OPT_IIDFILE:
      iidfile = optarg;
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (argc - optind != 1)
    cli::usage_error(argc - optind == 0 ? "CONTEXT is missing (a directory, or - for stdin)"
                                        : "expected exactly one CONTEXT");
  std::string context = argv[optind];
  if (context != "-") {
    if (!is_dir(context))
      fail("unable to prepare context: ", printable(context), " is not a directory");
    o.context = context;
  }
  o.dockerfile_text =
      read_dockerfile(context == "-" && file.empty() ? "-" : file, o.context, false,
                      o.dockerfile_name);
  o.quiet = !log::info_on();
  o.epoch = commit::source_date_epoch();
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  std::string id = builder::build(store, o);
  if (!iidfile.empty())
    sys::write_file_atomic(iidfile, id, 0644);
  out::line(id);
  return 0;
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-build", USAGE, build_main); }
