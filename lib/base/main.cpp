// SPDX-License-Identifier: MIT
#include "base/main.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include <cstdlib>

#ifndef KOKER_VERSION
#define KOKER_VERSION "0.0.0"
#endif

namespace koker {
namespace {
const char *g_usage = "";
} // namespace

int run_tool(int argc, char **argv, const char *prog, const char *usage, ToolMain fn) {
  log::set_prog(prog);
  g_usage = usage;
  opterr = 0; // koker prints its own usage errors
  if (sys::env("KOKER_DEBUG") == "1")
    log::set_level(log::Level::debug);
  else if (sys::env("KOKER_QUIET") == "1")
    log::set_level(log::Level::quiet);
  try {
    return fn(argc, argv);
  } catch (const ExitNow &e) {
    return e.code;
  } catch (const Error &e) {
    if (*e.what())
      log::fatal(e.what());
    return e.exit_code();
  } catch (const std::bad_alloc &) {
    log::fatal("out of memory");
    return 125;
  } catch (const std::exception &e) {
    log::fatal("internal error: ", e.what());
    return 125;
  }
}

namespace cli {

std::vector<option> long_options(std::vector<option> own) {
  own.push_back({"help", no_argument, nullptr, 'h'});
  own.push_back({"version", no_argument, nullptr, OPT_VERSION});
  own.push_back({"debug", no_argument, nullptr, 'D'});
  own.push_back({"quiet", no_argument, nullptr, 'q'});
  own.push_back({"root", required_argument, nullptr, OPT_ROOT});
  own.push_back({nullptr, 0, nullptr, 0});
  return own;
}

bool handle_common(int opt, const char *arg) {
  switch (opt) {
  case 'h':
    out::text(g_usage);
    throw ExitNow{0};
  case OPT_VERSION:
    out::line(cat(log::prog(), " version ", KOKER_VERSION));
    throw ExitNow{0};
  case 'D':
    log::set_level(log::Level::debug);
    ::setenv("KOKER_DEBUG", "1", 1);
    ::unsetenv("KOKER_QUIET");
    return true;
  case 'q':
    if (!log::debug_on()) {
      log::set_level(log::Level::quiet);
      ::setenv("KOKER_QUIET", "1", 1);
    }
    return true;
  case OPT_ROOT:
    if (!arg || !*arg)
      usage_error("--root needs a directory");
    ::setenv("KOKER_ROOT", arg, 1);
    return true;
  default:
    return false;
  }
}

bool bool_option(std::string_view option, const char *arg) {
  std::string_view v = arg ? arg : "true";
  if (!v.empty() && v[0] == '=')
    v.remove_prefix(1);
  if (v == "true" || v == "1")
    return true;
  if (v == "false" || v == "0")
    return false;
  usage_error(cat("invalid ", option, " value ", printable(v), ": expected true or false"));
}

void usage_error(std::string_view msg) {
  log::write_line("usage", cat(msg, " (see ", log::prog(), " --help)"));
  throw ExitNow{125};
}

void bad_option(int c, char **argv) {
  // opterr is off, so getopt printed nothing: say which option it rejected and why.
  std::string opt = optopt > 0 && optopt < 0x100 ? cat('-', static_cast<char>(optopt))
                                                 : std::string(argv[optind - 1]);
  usage_error(cat(c == ':' ? "option needs a value: " : "invalid option: ", printable(opt)));
}

bool parse_force_option(int argc, char **argv) {
  auto opts = long_options({{"force", no_argument, nullptr, 'f'}});
  bool force = false;
  std::string shorts = std::string(COMMON_SHORT_ANYWHERE) + "f";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (handle_common(c, optarg))
      continue;
    if (c == 'f')
      force = true;
    else
      bad_option(c, argv);
  }
  return force;
}

void check_format(std::string_view format) {
  if (format != "table" && format != "json")
    usage_error("--format takes table or json");
}

void want_operands(const std::vector<std::string> &words, size_t n, std::string_view what) {
  if (words.size() < n + 1)
    usage_error(cat(what, " is missing"));
  if (words.size() > n + 1)
    usage_error(cat("too many arguments for ", words[0]));
}

int for_each_operand(int argc, char **argv, const std::function<void(const char *)> &fn) {
  int status = 0;
  for (int i = optind; i < argc; ++i) {
    try {
      fn(argv[i]);
    } catch (const Error &e) {
      log::fatal(e.what());
      status = 125;
    }
  }
  return status;
}

} // namespace cli

std::string store_root() {
  std::string given = sys::env("KOKER_ROOT");
  if (!given.empty())
    return given;
  return rootless::active() ? rootless::data_dir() : "/var/lib/koker";
}

} // namespace koker
