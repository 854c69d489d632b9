// SPDX-License-Identifier: MIT
// koker-wait: block until containers stop, then print their exit codes.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-wait [OPTIONS] CONTAINER...\n"
    "\n"
    "Block until each CONTAINER stops, then print its exit code, one line each, in order.\n"
    "A container that does not run (created, exited) answers at once.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but the exit codes and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

// The container's exit code once it does not run. Its supervisor (another process, often
// not our child) records the exit: a pidfd on the container's process says when it is gone,
// then the record, looked at until it says so (or, for an orphan, the exit file does).
static int wait_for(const std::string &root, const std::string &id) {
  for (;;) {
    auto now = container::load(root, id);
    if (!now)
      fail("container ", id.substr(0, 12), " was removed while waited for");
    auto rec = lifecycle::settle(root, *now);
    if (!rec)
      fail("container ", id.substr(0, 12), " was removed while waited for");
    if (rec->status != "running")
      return rec->exit_code;
    long fd = ::syscall(SYS_pidfd_open, rec->pid, 0);
    Fd pidfd(fd < 0 ? -1 : static_cast<int>(fd));
    if (pidfd && container::process_alive(rec->pid, rec->pid_start)) {
      log::debug("poll pidfd of ", rec->pid, " (container ", id.substr(0, 12), ")");
      struct pollfd p = {pidfd.get(), POLLIN, 0};
      while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
    } else {
      ::poll(nullptr, 0, 20); // gone: its supervisor is writing the record
    }
  }
}

static int wait_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (optind == argc)
    cli::usage_error("CONTAINER is missing");
  std::string root = store_root();
  return cli::for_each_operand(argc, argv, [&](const char *name) {
    out::line(std::to_string(wait_for(root, container::get(root, name).id)));
  });
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-wait", USAGE, wait_main); }
