// SPDX-License-Identifier: MIT
// koker-start: start created or stopped containers again, detached or attached.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "runtime/attach_client.hpp"
#include "runtime/attach_socket.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/restart.hpp"
#include "runtime/start.hpp"
#include "store/container.hpp"
#include "store/container_log.hpp"
#include "store/store.hpp"
#include <csignal>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-start [OPTIONS] CONTAINER...\n"
    "       koker-start --all-restartable\n"
    "\n"
    "Start created or stopped containers: their root is mounted again with the files they\n"
    "left, and their command runs as koker-run ran it, detached (prints each CONTAINER).\n"
    "A running container is left as it is (with -a: followed as koker-attach does).\n"
    "\n"
    "Options:\n"
    "  -a, --attach           stay attached: relay the output, return the exit code\n"
    "  -i, --interactive      attach stdin too (a container created with -i)\n"
    "      --detach-keys KEYS the keys that detach from a -t container (default\n"
    "                         ctrl-p,ctrl-q; see koker-attach)\n"
    "      --all-restartable  start the containers a restart policy would run after a\n"
    "                         reboot: always, and unless-stopped or on-failure ones the\n"
    "                         user did not stop (on-failure: last exit not 0)\n"
    "  -q, --quiet            print nothing but the containers and errors\n"
    "  -D, --debug            trace every step on stderr\n"
    "      --root DIR         the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help             show this help\n"
    "      --version          show the version\n";

enum { OPT_ALL_RESTARTABLE = 0x2000, OPT_DETACH_KEYS };

// What a boot (no daemon: koker-restart.service) starts again, as dockerd does when it starts:
// always even after a stop by the user, unless-stopped and on-failure only if not stopped by
// the user, on-failure only after a failure. Created containers never ran: left alone.
static bool restart_after_boot(const container::Record &rec) {
  if (rec.status != "exited" || !restart::restartable(rec))
    return false;
  if (rec.restart_policy == "always")
    return true;
  if (rec.manually_stopped)
    return false;
  return rec.restart_policy == "unless-stopped" || rec.exit_code != 0;
}

static int start_main(int argc, char **argv) {
  auto opts = cli::long_options({{"attach", no_argument, nullptr, 'a'},
                                 {"interactive", no_argument, nullptr, 'i'},
                                 {"all-restartable", no_argument, nullptr, OPT_ALL_RESTARTABLE},
                                 {"detach-keys", required_argument, nullptr, OPT_DETACH_KEYS}});
  bool attach = false, interactive = false, all_restartable = false;
  attach::ClientOptions ao;
  ao.detach_keys = attach::parse_detach_keys("ctrl-p,ctrl-q");
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "ai";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'a': attach = true; break;
    case 'i': interactive = true; break;
    case OPT_ALL_RESTARTABLE: all_restartable = true; break;
    case OPT_DETACH_KEYS:
      try {
        ao.detach_keys = attach::parse_detach_keys(optarg);
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
      break;
    default: cli::bad_option(c, argv);
    }
  }
  if (all_restartable && (attach || interactive))
    cli::usage_error("--all-restartable starts containers detached: no -a or -i");
  if (all_restartable && optind != argc)
    cli::usage_error("--all-restartable takes no CONTAINER");
  if (!all_restartable && optind == argc)
    cli::usage_error("CONTAINER is missing");
  // docker: "you cannot start and attach multiple containers at once"
  if ((attach || interactive) && argc - optind > 1)
    cli::usage_error("-a and -i take one CONTAINER: attach to one container at a time");
  // A child that failed closes its pipes early: writing to them must not kill koker-start.
  ::signal(SIGPIPE, SIG_IGN);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  const std::string root = store.root();
  if (all_restartable) {
    int status = 0;
    for (const auto &found : container::list(root)) {
      auto rec = lifecycle::settle(root, found);
      if (!rec || !restart_after_boot(*rec))
        continue;
      try {
        start::run(store, *rec, false, false);
        out::line(rec->name);
      } catch (const Error &e) {
        log::fatal(e.what());
        status = 125;
      }
    }
    return status;
  }
  if (attach || interactive) {
    container::Record rec = container::get(root, argv[optind]);
    if (rec.open_stdin || rec.tty) {
      // As docker: started detached, its supervisor serving the attach socket this connects
      // to first; the detach keys leave it running.
      Fd sock;
      start::run(store, rec, false, false, &sock);
      if (!sock) // it ran already
        sock = attach::connect(container::dir_of(root, rec.id));
      ao.stdin = interactive && rec.open_stdin;
      ao.tty = rec.tty;
      return attach::attach_and_wait(root, rec.id, sock ? sock.get() : -1, ao);
    }
    auto code = start::run(store, rec, true, interactive);
    if (code)
      return *code;
    // It ran already: attached as koker-attach attaches (docker start -a does the same).
    container_log::print(root, rec.id, true, true);
    auto now = container::load(root, rec.id);
    auto end = now ? lifecycle::settle(root, *now) : std::nullopt;
    return end ? end->exit_code : 0;
  }
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    start::run(store, container::get(root, name), false, false);
    out::line(name);
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-start", USAGE, start_main); }
