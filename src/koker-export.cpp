// SPDX-License-Identifier: MIT
// koker-export: a container's file system as a tar archive (docker export).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "image/archive.hpp"
#include "runtime/container_root.hpp"
#include "store/container.hpp"
#include <fcntl.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-export [OPTIONS] CONTAINER\n"
    "\n"
    "Write the container's file system (its image's layers and its changes, without the\n"
    "volumes and the mounts its processes see) as a tar archive to stdout or FILE.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  write to FILE instead of stdout\n"
    "  -q, --quiet        print nothing but errors\n"
    "  -D, --debug        trace every step on stderr\n"
    "      --root DIR     the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help         show this help\n"
    "      --version      show the version\n";

static int export_main(int argc, char **argv) {
  auto opts = cli::long_options({{"output", required_argument, nullptr, 'o'}});
  std::string output;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "o:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'o':
      output = optarg;
      if (output.empty())
        cli::usage_error("--output needs a file name");
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (argc - optind != 1)
    cli::usage_error("expected exactly one CONTAINER");
  if (output.empty() && ::isatty(1))
    fail("cowardly refusing to save to a terminal: use the -o flag or redirect");
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  std::string root = store_root();
  container::Record rec = container::refresh(root, container::get(root, argv[optind]));
  // A stopped container's root is mounted here: nobody may start it meanwhile.
  std::optional<sys::FileLock> lock;
  if (rec.status != "running")
    lock.emplace(container::lock(root, rec.id));
  Fd root_fd = container_root::open_merged(root, rec);

  Fd file;
  sys::Rollback undo;
  if (!output.empty()) {
    log::debug("open ", output, " O_CREAT|O_TRUNC");
    file.reset(::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!file)
      sys_fail("unable to create ", output);
    undo.add("remove " + output, [&] { ::unlink(output.c_str()); });
  }
  int out = file ? file.get() : 1;
  pid_t child = container_root::fork_in_root(root_fd.get(),
                                             [out] { archive::pack_path("/", "", false, out); });
  int code = container_root::wait_child(child);
  if (code != 0)
    throw ExitNow{code}; // the child said why; the partial file goes
  if (file)
    check(::fsync(file.get()), "unable to write ", output);
  undo.dismiss();
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-export", USAGE, export_main); }
