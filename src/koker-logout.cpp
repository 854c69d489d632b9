// SPDX-License-Identifier: MIT
// koker-logout: remove a registry's credentials from docker's config.json.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "image/docker_config.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-logout [OPTIONS] [REGISTRY]\n"
    "\n"
    "Remove the credentials of a registry (default docker.io) from $DOCKER_CONFIG/config.json\n"
    "(default ~/.docker/config.json), keeping every other entry. Not being logged in is no\n"
    "error, as with docker.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

static int logout_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (argc - optind > 1)
    cli::usage_error("too many arguments");
  std::string registry =
      docker_config::registry_of(optind < argc ? argv[optind] : std::string_view("docker.io"));
  std::string shown = docker_config::auth_key(registry);
  if (docker_config::remove_auth(docker_config::path(), registry) == 0)
    log::info("Not logged in to ", shown);
  else
    log::info("Removing login credentials for ", shown);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-logout", USAGE, logout_main); }
