// SPDX-License-Identifier: MIT
#pragma once
#include <functional>
#include <getopt.h>
#include <string>
#include <string_view>
#include <vector>

namespace koker {

// Thrown to leave a tool early with a status and nothing more to say (--help, --version).
struct ExitNow {
  int code;
};

using ToolMain = int (*)(int argc, char **argv);

// The shape of every tool's main: sets the program name, reads KOKER_DEBUG/KOKER_QUIET, runs
// fn, prints a koker::Error as "PROG: fatal: ..." and returns its exit code; any other
// exception is an internal error (125).
int run_tool(int argc, char **argv, const char *prog, const char *usage, ToolMain fn);

namespace cli {
constexpr int OPT_ROOT = 0x1000;
constexpr int OPT_VERSION = 0x1001;
// Short options every tool takes (-h, -D, -q), to put before a tool's own: "+:" stops at the
// first operand (the container's command) and reports a missing value as ':'.
constexpr const char COMMON_SHORT[] = "+:hDq";
// The same for tools whose operands are only names (rm, stop, inspect, ...): options may come
// after them too, as docker takes "koker-stop web -t 1".
constexpr const char COMMON_SHORT_ANYWHERE[] = ":hDq";
// A tool's own long options followed by the common ones (--help, --version, --debug,
// --quiet, --root) and the terminating zero entry, ready for getopt_long.
std::vector<option> long_options(std::vector<option> own);
// Handles a common option: prints help or version (throwing ExitNow 0), sets the log level
// and exports KOKER_DEBUG/KOKER_QUIET/KOKER_ROOT for the tools this one starts. Returns false
// for an option that is not a common one.
bool handle_common(int opt, const char *arg);
// Prints "PROG: usage: msg (see PROG --help)" and throws ExitNow 125, as docker does.
[[noreturn]] void usage_error(std::string_view msg);
// Reports the option getopt just rejected: c is '?' (unknown) or ':' (missing value).
[[noreturn]] void bad_option(int c, char **argv);
// The options of a tool whose own option is -f/--force alone, anywhere among its operands
// (koker-rm, koker-rmi): the common ones handled, the others refused; true with -f.
bool parse_force_option(int argc, char **argv);
// The value of a docker-style boolean option (--sig-proxy, --tls-verify, -H, --pause) given
// as arg, an optional argument: none means true; "true"/"1" or "false"/"0", after an "="
// that a short option's "-p=false" leaves; a usage error naming option otherwise.
bool bool_option(std::string_view option, const char *arg);
// --format's value: "table" or "json"; a usage error otherwise.
void check_format(std::string_view format);
// words is a subcommand and its operands: exactly n operands, else a usage error naming what
// is missing ("CONTAINER is missing") or that there are too many.
void want_operands(const std::vector<std::string> &words, size_t n, std::string_view what);
} // namespace cli

namespace cli {
// Runs fn on every operand from optind on, as docker does for rm, stop, rmi and inspect: an
// operand that fails is reported (one fatal line) and the others are still tried. Returns 0,
// or 125 if any failed.
int for_each_operand(int argc, char **argv, const std::function<void(const char *)> &fn);
} // namespace cli

// The store's root: --root, else KOKER_ROOT, else /var/lib/koker for root and
// $XDG_DATA_HOME/koker (~/.local/share/koker) for any other user (base/rootless.hpp).
std::string store_root();

} // namespace koker
