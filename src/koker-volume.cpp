// SPDX-License-Identifier: MIT
// koker-volume: named volumes, as docker's local driver keeps them.
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "store/volume.hpp"
#include <cstring>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-volume [OPTIONS] COMMAND [ARG...]\n"
    "\n"
    "Named volumes: directories under the store (volumes/NAME/_data) that containers mount\n"
    "(koker-run's volume options) and keep when they are removed.\n"
    "\n"
    "Commands:\n"
    "  create [NAME]               make a volume (a random 64-hex name when none); print it\n"
    "  ls                          list the volumes\n"
    "  rm NAME...                  remove volumes no container uses\n"
    "  inspect NAME...             print the volumes as a JSON array\n"
    "  prune                       remove the anonymous volumes no container uses\n"
    "\n"
    "Options:\n"
    "  -l, --label K=V             create: set a label (repeatable)\n"
    "      --driver local          create: the driver (local, the only one)\n"
    "      --format table|json     ls: a table (default) or one JSON array\n"
    "  -f, --force                 rm: a missing volume is no error; prune: do not ask\n"
    "  -a, --all                   prune: named volumes too, not only anonymous ones\n"
    "  -q, --quiet                 ls: print the names only; else print nothing but data\n"
    "  -D, --debug                 trace every step on stderr\n"
    "      --root DIR              the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                  show this help\n"
    "      --version               show the version\n";

namespace {

struct Args {
  std::vector<std::string> words;
  volume::Labels labels;
  std::string format = "table";
  bool force = false, all = false, names_only = false;
};

Args parse(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_DRIVER };
  auto opts = cli::long_options({{"label", required_argument, nullptr, 'l'},
                                 {"driver", required_argument, nullptr, OPT_DRIVER},
                                 {"format", required_argument, nullptr, OPT_FORMAT},
                                 {"force", no_argument, nullptr, 'f'},
                                 {"all", no_argument, nullptr, 'a'}});
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "l:d:fa";
  Args a;
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (c == 'q')
      a.names_only = true; // and quiet, below
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'l': {
      std::string_view kv = optarg;
      size_t eq = kv.find('=');
      if (kv.empty() || eq == 0)
        cli::usage_error(cat("invalid label ", printable(kv), " (want KEY=VALUE)"));
      a.labels.emplace_back(std::string(kv.substr(0, eq)),
                            eq == kv.npos ? "" : std::string(kv.substr(eq + 1)));
      break;
    }
    case 'd':
    case OPT_DRIVER:
      if (std::strcmp(optarg, "local") != 0)
        cli::usage_error(cat("unknown volume driver ", printable(optarg), " (koker has local)"));
      break;
    case OPT_FORMAT:
      a.format = optarg;
      break;
    case 'f':
      a.force = true;
      break;
    case 'a':
      a.all = true;
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  a.words.assign(argv + optind, argv + argc);
  if (a.words.empty())
    cli::usage_error("COMMAND is missing");
  cli::check_format(a.format);
  return a;
}

int create(const std::string &root, const Args &a) {
  if (a.words.size() > 2)
    cli::usage_error("too many arguments for create");
  // docker: no name, a random one (not an anonymous volume: prune keeps it without --all)
  std::string name = a.words.size() == 2 ? a.words[1] : sys::random_hex(32);
  try {
    volume::check_name(name);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  volume::create(root, name, a.labels);
  out::line(name);
  return 0;
}

int ls(const std::string &root, const Args &a) {
  cli::want_operands(a.words, 0, "");
  auto volumes = volume::list(root);
  if (a.format == "json") {
    json::Value list = json::Value::array();
    for (const auto &v : volumes)
      list.push(volume::to_json(root, v));
    out::line(list.dump(2));
  } else if (a.names_only) {
    for (const auto &v : volumes)
      out::line(v.name);
  } else {
    std::vector<std::vector<std::string>> rows{{"DRIVER", "VOLUME NAME"}};
    for (const auto &v : volumes)
      rows.push_back({"local", v.name});
    out::text(render_table(rows));
  }
  return 0;
}

int inspect(const std::string &root, const Args &a) {
  if (a.words.size() < 2)
    cli::usage_error("NAME is missing");
  json::Value list = json::Value::array();
  int rc = 0;
  for (size_t i = 1; i < a.words.size(); ++i) {
    if (auto v = volume::find(root, a.words[i])) {
      list.push(volume::to_json(root, *v));
    } else {
      log::fatal("no such volume: ", printable(a.words[i]));
      rc = 125;
    }
  }
  out::line(list.dump(4));
  return rc;
}

int rm(const std::string &root, const Args &a) {
  if (a.words.size() < 2)
    cli::usage_error("NAME is missing");
  int rc = 0;
  for (size_t i = 1; i < a.words.size(); ++i) {
    const std::string &name = a.words[i];
    try {
      if (a.force && !volume::find(root, name))
        continue; // docker's -f: a missing volume is no error
      volume::remove(root, name);
      out::line(name);
    } catch (const Error &e) {
      log::fatal(e.what());
      rc = e.exit_code();
    }
  }
  return rc;
}

int prune(const std::string &root, const Args &a) {
  cli::want_operands(a.words, 0, "");
  if (!a.force) {
    sys::write_fd(2,
                  a.all ? "WARNING! This will remove all local volumes not used by at least "
                          "one container.\nAre you sure you want to continue? [y/N] "
                        : "WARNING! This will remove anonymous local volumes not used by at "
                          "least one container.\nAre you sure you want to continue? [y/N] ",
                  "stderr");
    char answer[16] = {};
    ssize_t n = ::read(0, answer, sizeof answer - 1);
    if (n <= 0 || (answer[0] != 'y' && answer[0] != 'Y'))
      return 0;
  }
  volume::Pruned p = volume::prune_unused(root, a.all);
  if (!p.names.empty()) {
    out::line("Deleted Volumes:");
    for (const auto &name : p.names)
      out::line(name);
    out::line("");
  }
  out::line("Total reclaimed space: " + human_size(p.bytes));
  return 0;
}

int volume_main(int argc, char **argv) {
  Args a = parse(argc, argv);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  std::string root = store_root();
  const std::string &cmd = a.words[0];
  if (cmd == "create")
    return create(root, a);
  if (cmd == "ls" || cmd == "list")
    return ls(root, a);
  if (cmd == "inspect")
    return inspect(root, a);
  if (cmd == "rm" || cmd == "remove")
    return rm(root, a);
  if (cmd == "prune")
    return prune(root, a);
  cli::usage_error(cat("unknown command ", printable(cmd), " (create, ls, rm, inspect, prune)"));
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-volume", USAGE, volume_main); }
