// SPDX-License-Identifier: MIT
// koker-attach: attach the terminal to a detached container (docker attach): its output from
// now on, stdin and the window size too for a -i or -t container; its exit code at the end.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "runtime/attach_client.hpp"
#include "runtime/attach_socket.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-attach [OPTIONS] CONTAINER\n"
    "\n"
    "Attach to a running detached container: print its output from now on, as it writes\n"
    "it, and return its exit code when it exits. A container made with -i also gets this\n"
    "stdin, and one made with -t this terminal (raw, its window size followed), through the\n"
    "attach socket its supervisor serves. With -t, the detach keys (ctrl-p ctrl-q) leave it\n"
    "running.\n"
    "\n"
    "Options:\n"
    "      --detach-keys KEYS  the keys that detach: ctrl-<a-z@[\\]^_> or characters, comma-\n"
    "                          separated (default ctrl-p,ctrl-q; \"\" for none)\n"
    "      --no-stdin          do not attach stdin\n"
    "      --sig-proxy[=BOOL]  pass the signals this gets (SIGINT, SIGTERM, ...) on to the\n"
    "                          container's process (default true; not with -t, where ctrl-C\n"
    "                          is a key the container reads)\n"
    "  -q, --quiet             print nothing but the output and errors\n"
    "  -D, --debug             trace every step on stderr\n"
    "      --root DIR          the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help              show this help\n"
    "      --version           show the version\n";

enum { OPT_DETACH_KEYS = 0x2000, OPT_NO_STDIN, OPT_SIG_PROXY };

static int attach_main(int argc, char **argv) {
  auto opts = cli::long_options({{"detach-keys", required_argument, nullptr, OPT_DETACH_KEYS},
                                 {"no-stdin", no_argument, nullptr, OPT_NO_STDIN},
                                 {"sig-proxy", optional_argument, nullptr, OPT_SIG_PROXY}});
  attach::ClientOptions o;
  o.detach_keys = attach::parse_detach_keys("ctrl-p,ctrl-q");
  bool no_stdin = false;
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case OPT_DETACH_KEYS:
      try {
        o.detach_keys = attach::parse_detach_keys(optarg);
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    case OPT_NO_STDIN:
      no_stdin = true;
      break;
    case OPT_SIG_PROXY:
      o.sig_proxy = cli::bool_option("--sig-proxy", optarg);
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind + 1 != argc)
    cli::usage_error(optind == argc ? "CONTAINER is missing" : "too many arguments");
  std::string root = store_root();
  container::Record found = container::get(root, argv[optind]);
  auto rec = lifecycle::settle(root, found);
  // docker: "You cannot attach to a stopped container, start it first"
  if (!rec || rec->status != "running")
    fail("cannot attach to container ", found.id.substr(0, 12), ": it is not running (",
         rec ? rec->status : "removed", "): start it first");
  // docker: "You cannot attach to a paused container, unpause it first"
  if (rec->paused)
    fail("cannot attach to container ", found.id.substr(0, 12), ": it is paused: unpause it first");
  Fd sock;
  if (rec->open_stdin || rec->tty)
    sock = attach::connect(container::dir_of(root, rec->id));
  if (!sock)
    log::debug("no attach socket: output only, from the log");
  o.stdin = rec->open_stdin && !no_stdin;
  o.tty = rec->tty;
  return attach::attach_and_wait(root, rec->id, sock ? sock.get() : -1, o);
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-attach", USAGE, attach_main); }
