// SPDX-License-Identifier: MIT
// koker-login: check credentials against a registry, then keep them in docker's config.json.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "image/docker_config.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include <termios.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-login [OPTIONS] [REGISTRY]\n"
    "\n"
    "Log in to a registry (default docker.io): check the credentials against its /v2/ and\n"
    "token endpoint, then save them in $DOCKER_CONFIG/config.json (default\n"
    "~/.docker/config.json) as docker does (\"auths\", base64 user:password, mode 0600).\n"
    "Prints \"Login Succeeded\".\n"
    "\n"
    "Options:\n"
    "  -u, --username USER     the user name\n"
    "  -p, --password PASS     the password (visible to other users in ps: prefer\n"
    "                          --password-stdin)\n"
    "      --password-stdin    read the password from standard input\n"
    "      --tls-verify=false  talk plain HTTP to the registry (as KOKER_INSECURE_REGISTRIES)\n"
    "  -q, --quiet             print nothing but errors and the result\n"
    "  -D, --debug             trace every step on stderr\n"
    "  -h, --help              show this help\n"
    "      --version           show the version\n";

// A line from fd 0 without its newline; at most 64 KiB.
static std::string read_stdin_line() {
  std::string s = sys::read_fd(0, 64 << 10, "standard input");
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

// Asks on the terminal, without echo for a password, as docker does when -u or -p is missing.
static std::string prompt(const char *question, bool secret) {
  if (!::isatty(0))
    cli::usage_error(cat(secret ? "a password" : "a user name",
                         " is needed (-u, -p or --password-stdin) and stdin is not a terminal"));
  ssize_t ignored = ::write(2, question, std::char_traits<char>::length(question));
  (void)ignored;
  struct termios old {};
  bool restore = secret && ::tcgetattr(0, &old) == 0;
  if (restore) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (::read(0, &c, 1) == 1 && c != '\n' && line.size() < 4096)
    line.push_back(c);
  if (restore) {
    ::tcsetattr(0, TCSAFLUSH, &old);
    ignored = ::write(2, "\n", 1);
  }
  return line;
}

static int login_main(int argc, char **argv) {
  enum { OPT_PASSWORD_STDIN = 1, OPT_TLS_VERIFY };
  auto opts = cli::long_options({{"username", required_argument, nullptr, 'u'},
                                 {"password", required_argument, nullptr, 'p'},
                                 {"password-stdin", no_argument, nullptr, OPT_PASSWORD_STDIN},
                                 {"tls-verify", optional_argument, nullptr, OPT_TLS_VERIFY}});
  std::optional<std::string> user, password;
  bool from_stdin = false, tls_verify = true;
  std::string shorts = cat(cli::COMMON_SHORT_ANYWHERE, "u:p:");
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'u':
      user = optarg;
      break;
    case 'p':
      password = optarg;
      break;
    case OPT_PASSWORD_STDIN:
      from_stdin = true;
      break;
    case OPT_TLS_VERIFY:
      tls_verify = cli::bool_option("--tls-verify", optarg);
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (argc - optind > 1)
    cli::usage_error("too many arguments");
  if (password && from_stdin)
    cli::usage_error("--password and --password-stdin are mutually exclusive");
  if (from_stdin && !user)
    cli::usage_error("--password-stdin needs --username");
  std::string registry =
      docker_config::registry_of(optind < argc ? argv[optind] : std::string_view("docker.io"));
  std::string file = docker_config::path();
  if (password)
    log::warn("using --password on the command line is insecure: use --password-stdin");
  if (!user)
    user = prompt("Username: ", false);
  if (from_stdin)
    password = read_stdin_line();
  else if (!password)
    password = prompt("Password: ", true);
  if (user->empty() || user->find(':') != std::string::npos)
    cli::usage_error("the user name must be non-empty and hold no ':'");
  if (password->empty())
    cli::usage_error("the password is empty");
  if (!tls_verify)
    ::setenv("KOKER_INSECURE_REGISTRIES", registry.c_str(), 1);

  registry::Reference ref;
  ref.registry = registry;
  registry::Session session(ref);
  session.check_credentials(*user, *password); // nothing is saved unless they work
  docker_config::save_auth(file, registry, *user, *password);
  log::debug("saved the credentials for ", registry, " in ", file);
  out::line("Login Succeeded");
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-login", USAGE, login_main); }
