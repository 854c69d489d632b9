// SPDX-License-Identifier: MIT
// koker-diff: what a container changed in its file system (docker diff), from its upper layer.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/create.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include "image/overlay_marks.hpp"
#include "runtime/layer_stack.hpp"
#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-diff [OPTIONS] CONTAINER\n"
    "\n"
    "List the files the container added (A), changed (C) or deleted (D) against its image,\n"
    "read from its overlay upper layer.\n"
    "\n"
    "Options:\n"
    "  -q, --quiet      print nothing but the changes and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

namespace {

constexpr std::string_view WH_PREFIX = ".wh.", WH_OPAQUE = ".wh..wh..opq";

struct DirClose {
  void operator()(DIR *d) const { ::closedir(d); }
};

std::vector<std::string> sorted_names(int dfd, const std::string &shown) {
  int dup = check(::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "unable to open ", shown);
  std::unique_ptr<DIR, DirClose> d(::fdopendir(dup));
  if (!d) {
    ::close(dup);
    sys_fail("unable to read directory ", shown);
  }
  std::vector<std::string> names;
  while (struct dirent *de = ::readdir(d.get()))
    if (std::string_view n = de->d_name; n != "." && n != "..")
      names.emplace_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

class Differ {
public:
  explicit Differ(layer_stack::Stack lower) : m_lower(std::move(lower)) {}

  // Depth first, names in byte order, a directory before what is below it (docker's walk).
  void walk(int dfd, const std::string &dir, bool below_opaque) {
    for (const auto &n : sorted_names(dfd, dir.empty() ? "/" : dir)) {
      std::string path = cat(dir, "/", n);
      if (text::starts_with(n, WH_PREFIX)) { // aufs-style whiteouts, as an image's layers have
        if (n != WH_OPAQUE)
          line('D', cat(dir, "/", n.substr(WH_PREFIX.size())));
        continue;
      }
      struct stat st;
      check(::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW), "unable to stat ", path);
      if (overlay_marks::is_whiteout(st)) {
        line('D', path);
        continue;
      }
      bool in_lower = !below_opaque && m_lower.shows(path.substr(1));
      if (!S_ISDIR(st.st_mode)) {
        line(in_lower ? 'C' : 'A', path);
        continue;
      }
      Fd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub)
        sys_fail("unable to open ", path);
      bool opaque = is_opaque(sub.get());
      line(in_lower || opaque ? 'C' : 'A', path);
      walk(sub.get(), path, below_opaque || opaque);
    }
  }
  const std::string &out() const { return m_out; }

private:
  void line(char kind, const std::string &path) { m_out += cat(kind, " ", path, "\n"); }

  static bool is_opaque(int fd) {
    if (overlay_marks::is_opaque(fd))
      return true;
    struct stat st;
    return ::fstatat(fd, std::string(WH_OPAQUE).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  }

  layer_stack::Stack m_lower;
  std::string m_out;
};

} // namespace

static int diff_main(int argc, char **argv) {
  auto opts = cli::long_options({});
  for (int c;
       (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;)
    if (!cli::handle_common(c, optarg))
      cli::bad_option(c, argv);
  if (argc - optind != 1)
    cli::usage_error("expected exactly one CONTAINER");
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  std::string root = store_root();
  container::Record rec = container::get(root, argv[optind]);
  store::Store store(root);
  auto img = store.find_image(rec.image_id);
  if (!img)
    fail("unable to diff container ", rec.name, ": its image ", rec.image_id, " is gone");
  std::vector<std::string> dirs; // as the overlay has them: the init layer counts
  for (const auto &l : create::lower_layers(store, *img))
    dirs.push_back(cat(root, "/layers/", l));
  layer_stack::Stack lower(dirs);
  std::string upper = container::dir_of(root, rec.id) + "/upper";
  log::debug("walk ", upper, " against ", lower.size(), " image layers");
  Fd top(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top)
    sys_fail("unable to open ", upper);
  Differ d(std::move(lower));
  d.walk(top.get(), "", false);
  out::text(d.out());
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-diff", USAGE, diff_main); }
