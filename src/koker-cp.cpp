// SPDX-License-Identifier: MIT
// koker-cp: copy files between a container and the host, or a tar stream, as docker cp.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "image/archive.hpp"
#include "runtime/container_root.hpp"
#include "store/container.hpp"
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
    "       koker-cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n"
    "\n"
    "Copy files between a container and the host, with docker cp's rules for a trailing '/'\n"
    "and '/.'. '-' is a tar stream on stdout or stdin. Container paths resolve inside the\n"
    "container's root, whatever symlinks it holds.\n"
    "\n"
    "Options:\n"
    "  -a, --archive      keep the files' numeric owners (else they belong to root)\n"
    "  -L, --follow-link  copy what a symlink SRC_PATH points to, not the link\n"
    "  -q, --quiet        print nothing but errors\n"
    "  -D, --debug        trace every step on stderr\n"
    "      --root DIR     the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help         show this help\n"
    "      --version      show the version\n";

namespace {

struct Operand {
  std::string container, path; // container empty: a host path (or "-")
};

// docker's splitCpArg: an absolute path, or one whose part before ':' holds a '/', is local.
Operand split(const std::string &arg) {
  auto colon = arg.find(':');
  if (arg.empty() || arg[0] == '/' || colon == std::string::npos ||
      arg.substr(0, colon).find('/') != std::string::npos)
    return {"", arg};
  std::string path = arg.substr(colon + 1);
  if (path.empty())
    cli::usage_error(cat("no path given after ", printable(arg)));
  return {arg.substr(0, colon), path[0] == '/' ? path : "/" + path}; // relative to its root
}

bool ends_sep(const std::string &p) { return !p.empty() && p.back() == '/'; }
bool ends_dot(const std::string &p) {
  return p == "." || (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0);
}
// The path without trailing "/" and "/.": "/a/b/." is "/a/b", "/" stays.
std::string trimmed(std::string p) {
  while (p.size() > 1 && (ends_sep(p) || ends_dot(p)))
    p.resize(p.size() - (ends_sep(p) ? 1 : 2));
  return p.empty() ? "." : p;
}
std::string base_of(const std::string &p) {
  std::string t = trimmed(p);
  return t.substr(t.rfind('/') + 1);
}
std::string parent_of(const std::string &p) {
  std::string t = trimmed(p);
  auto slash = t.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : t.substr(0, slash);
}

// What the source is: a directory or not, and the name its tar stream's first entry has ("":
// a directory's contents, for "SRC/." and for the root itself).
struct Source {
  bool dir = false;
  std::string top;
};

// Stats a source path (docker follows a link when asked, or when the path ends in '/' or
// "/."); a missing one is reported by missing().
Source stat_source(const std::string &path, bool follow, const std::function<void()> &missing) {
  struct stat st;
  bool through = follow || ends_sep(path) || ends_dot(path);
  if ((through ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) < 0) {
    if (errno == ENOENT)
      missing();
    sys_fail("unable to stat ", path);
  }
  bool dir = S_ISDIR(st.st_mode);
  if (!dir && (ends_sep(path) || ends_dot(path)))
    fail(path, ": not a directory");
  std::string t = trimmed(path);
  return {dir, dir && (ends_dot(path) || t == "/") ? "" : base_of(path)};
}

// Where a stream of src lands under dest (docker's CopyInfoDestinationPath): the directory to
// unpack into and how its first entry is renamed. exists(p) stats p in the right root;
// missing_parent reports a parent that is not there.
struct Target {
  std::string dir;
  archive::Rebase rebase;
  bool make_dir = false; // make dir first (the contents of a directory to a new path)
};
Target place(const Source &src, const std::string &dest,
             const std::function<int(const std::string &)> &kind,
             const std::function<void(const std::string &)> &missing_parent) {
  int k = kind(dest); // 0: missing, 1: directory, 2: other
  if (k == 1)
    return {dest, {}, false};
  if (k == 2) {
    if (src.dir)
      fail("cannot copy directory ", printable(src.top.empty() ? "." : src.top), " to file ",
           printable(dest));
    return {parent_of(dest), {src.top, base_of(dest)}, false};
  }
  if (ends_sep(dest) && !src.dir)
    fail("no such directory: ", printable(dest));
  std::string parent = parent_of(dest);
  if (kind(parent) != 1)
    missing_parent(parent);
  if (src.top.empty())
    return {trimmed(dest), {}, true};
  return {parent, {src.top, base_of(dest)}, false};
}

int host_kind(const std::string &p) {
  struct stat st;
  if (::stat(p.c_str(), &st) < 0)
    return 0;
  return S_ISDIR(st.st_mode) ? 1 : 2;
}

void unpack(int fd, const Target &t, bool owners) {
  if (t.make_dir) {
    log::debug("mkdir ", t.dir);
    check(::mkdir(t.dir.c_str(), 0755), "unable to make directory ", t.dir);
  }
  archive::extract_copy(fd, t.dir, archive::Limits::from_env(), t.rebase, owners);
}

[[noreturn]] void not_found(const std::string &path, const container::Record &rec) {
  fail("could not find the file ", printable(path), " in container ", rec.name);
}

// Waits for the child; its failure (already reported by it) is the tool's.
void finish(pid_t child) {
  int code = container_root::wait_child(child);
  if (code != 0)
    throw ExitNow{code};
}

void copy_out(const std::string &root, const container::Record &rec, const std::string &src,
              const std::string &dest, bool follow, bool owners) {
  Fd root_fd = container_root::open_for_copy(root, rec);
  int status[2], data[2];
  check(::pipe2(status, O_CLOEXEC), "unable to make a pipe");
  check(::pipe2(data, O_CLOEXEC), "unable to make a pipe");
  Fd status_r(status[0]), status_w(status[1]), data_r(data[0]), data_w(data[1]);
  pid_t child = container_root::fork_in_root(root_fd.get(), [&] {
    status_r.reset(); // the parent's ends: a write must fail once the parent is gone
    data_r.reset();
    Source s = stat_source(src, follow, [&] { not_found(src, rec); });
    sys::write_fd(status_w.get(), cat(s.dir ? "d" : "f", s.top), "a pipe");
    status_w.reset();
    archive::pack_path(trimmed(src), s.top, follow, data_w.get());
  });
  status_w.reset();
  data_w.reset();
  std::string said = sys::read_fd(status_r.get(), 4096, "the copy's status");
  if (said.empty())
    finish(child); // the child said why
  try {
    Source s{said[0] == 'd', said.substr(1)};
    if (dest == "-") {
      log::debug("copy the tar stream to stdout");
      char buf[65536];
      for (ssize_t n; (n = ::read(data_r.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0)
          sys_fail("unable to read the tar stream");
        sys::write_fd(1, std::string_view(buf, static_cast<size_t>(n)), "stdout");
      }
    } else {
      Target t = place(s, dest, host_kind, [](const std::string &parent) {
        fail("unable to copy to ", parent, ": no such directory");
      });
      unpack(data_r.get(), t, owners);
    }
  } catch (...) {
    ::kill(child, SIGKILL);
    container_root::wait_child(child);
    throw;
  }
  finish(child);
}

void copy_in(const std::string &root, const std::string &src, const container::Record &rec,
             const std::string &dest, bool follow, bool owners) {
  Source s;
  if (src != "-")
    s = stat_source(src, follow,
                    [&] { fail("unable to copy ", src, ": no such file or directory"); });
  Fd root_fd = container_root::open_for_copy(root, rec);
  int data[2];
  check(::pipe2(data, O_CLOEXEC), "unable to make a pipe");
  Fd data_r(data[0]), data_w(data[1]);
  int in = src == "-" ? 0 : data_r.get();
  pid_t child = container_root::fork_in_root(root_fd.get(), [&] {
    data_w.reset();
    auto container_kind = [](const std::string &p) { return host_kind(p); }; // chrooted
    if (src == "-") {
      if (container_kind(dest) != 1)
        fail("destination ", rec.name, ":", dest, " must be a directory");
      unpack(in, {dest, {}, false}, true);
      return;
    }
    unpack(in, place(s, dest, container_kind, [&](const std::string &p) { not_found(p, rec); }),
           owners);
  });
  data_r.reset();
  if (src != "-") {
    try {
      archive::pack_path(trimmed(src), s.top, follow, data_w.get());
    } catch (const Error &e) {
      data_w.reset();
      if (container_root::wait_child(child) != 0)
        throw ExitNow{125}; // the child's reason comes first, and is the one that counts
      throw;
    }
  }
  data_w.reset();
  finish(child);
}

} // namespace

static int cp_main(int argc, char **argv) {
  auto opts = cli::long_options(
      {{"archive", no_argument, nullptr, 'a'}, {"follow-link", no_argument, nullptr, 'L'}});
  bool owners = false, follow = false;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "aL";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'a':
      owners = true;
      break;
    case 'L':
      follow = true;
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (argc - optind != 2)
    cli::usage_error("expected SRC_PATH and DEST_PATH");
  Operand from = split(argv[optind]), to = split(argv[optind + 1]);
  if (!from.container.empty() && !to.container.empty())
    cli::usage_error("copying between containers is not supported");
  if (from.container.empty() && to.container.empty())
    cli::usage_error("must specify at least one container source");
  // A failed write to a pipe whose reader died is reported by the reader, not by SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  std::string root = store_root();
  container::Record rec =
      container::get(root, from.container.empty() ? to.container : from.container);
  rec = container::refresh(root, rec);
  // A stopped container's root is mounted here: nobody may start it meanwhile.
  std::optional<sys::FileLock> lock;
  if (rec.status != "running")
    lock.emplace(container::lock(root, rec.id));
  if (!from.container.empty())
    copy_out(root, rec, from.path, to.path, follow, owners);
  else
    copy_in(root, from.path, rec, to.path, follow, owners);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-cp", USAGE, cp_main); }
