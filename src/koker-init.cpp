// SPDX-License-Identifier: MIT
// koker-init: the container's PID 1 under koker-run --init (docker's docker-init, tini's job):
// runs the command as its child (given the terminal, with -t), passes it the signals it gets,
// reaps every zombie, and exits with the command's status.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-init [OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND as the child of this process, forward every signal this process gets to it,\n"
    "reap every orphaned process, and exit with COMMAND's status (128+N after signal N).\n"
    "When stdin is a terminal, COMMAND runs in a process group of its own that becomes the\n"
    "terminal's foreground group (as tini): a shell gets job control, ctrl-C reaches it.\n"
    "koker-run --init binds it into the container as /sbin/docker-init, its PID 1.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   ignored (every koker tool takes it)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

// With -t the terminal goes to the command, as tini gives it: a process group of its own made
// the terminal's foreground group, so that an interactive shell gets job control and the
// terminal's ctrl-C and ctrl-Z reach it and its jobs (not this PID 1, which forwards only what
// it is sent). tcsetpgrp(3) from what is now a background group would stop the caller with
// SIGTTOU, unless SIGTTOU is blocked: it is, all are until exec. No terminal (ENOTTY), or not
// this session's: nothing to hand over.
static void take_terminal() {
  check(::setpgid(0, 0), "unable to make a process group for the command");
  if (::tcsetpgrp(0, ::getpgrp()) == 0)
    log::debug("tcsetpgrp(0, ", ::getpgrp(), "): the command has the terminal");
  else if (errno != ENOTTY && errno != ENXIO)
    sys_fail("unable to give the terminal to the command");
}

// The child: the terminal, the signal mask and dispositions of a fresh process, then the
// command. As tini: 127 when it is not found, 126 when it cannot be run.
[[noreturn]] static void exec_command(char **argv, const sigset_t &old_mask) {
  if (::isatty(0)) {
    try {
      take_terminal();
    } catch (const Error &e) {
      log::fatal(e.what());
      ::_exit(125);
    }
  }
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::execvp(argv[0], argv);
  int err = errno;
  log::fatal("unable to run ", argv[0], ": ", std::strerror(err));
  ::_exit(err == ENOENT ? 127 : 126);
}

static int init_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (optind == argc)
    cli::usage_error("COMMAND is missing");
  // Every signal waits in the mask until sigwaitinfo takes it: none is lost between the fork
  // and the loop, and none kills PID 1 (the kernel ignores a PID 1's default actions anyway).
  sigset_t all, old_mask;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old_mask);
  log::debug("fork, then execvp ", argv[optind]);
  pid_t child = ::fork();
  if (child < 0)
    sys_fail("unable to fork");
  if (child == 0)
    exec_command(argv + optind, old_mask);
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0)
      continue; // EINTR
    if (sig != SIGCHLD) {
      log::debug("kill ", child, " signal ", sig);
      ::kill(child, sig);
      continue;
    }
    // One SIGCHLD may stand for several exits: reap all there are, the command's last.
    for (int status;;) {
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0)
        break;
      log::debug("reaped ", pid);
      if (pid == child)
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-init", USAGE, init_main); }
