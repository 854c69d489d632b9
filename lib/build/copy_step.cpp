// SPDX-License-Identifier: MIT
#include "build/copy_step.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/archive.hpp"
#include "runtime/container_root.hpp"
#include "runtime/user.hpp"
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::build_copy {
namespace {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string base_name(const std::string &p) {
  std::string t = p;
  while (t.size() > 1 && t.back() == '/')
    t.pop_back();
  return t.substr(t.rfind('/') + 1);
}

std::string parent_dir(const std::string &p) {
  std::string t = p;
  while (t.size() > 1 && t.back() == '/')
    t.pop_back();
  auto slash = t.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : t.substr(0, slash);
}

// mkdir -p in the (chrooted) root, each directory it makes owned by o.
void make_dirs(const std::string &dir, Owner o) {
  std::string cur;
  for (const auto &part : text::fields(dir, '/')) {
    cur += "/" + part;
    if (::mkdir(cur.c_str(), 0755) == 0) {
      check(::chown(cur.c_str(), o.uid, o.gid), "unable to chown ", cur);
    } else if (errno != EEXIST) {
      sys_fail("unable to make directory ", cur);
    } else {
      struct stat st;
      if (::stat(cur.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        fail("unable to copy into ", printable(dir), ": ", printable(cur), " is not a directory");
    }
  }
}

bool is_dir(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// --chown's user and group, looked up in the image's files by a chrooted child when they are
// names (reading them from the host side would follow the image's symlinks on the host).
Owner resolve_owner(int root_fd, const std::string &spec) {
  if (spec.empty())
    return {};
  auto colon = spec.find(':');
  std::string u = spec.substr(0, colon), g = colon == std::string::npos ? "" : spec.substr(colon + 1);
  auto nu = sys::parse_uint(u), ng = sys::parse_uint(g);
  if (nu && (g.empty() || ng))
    return {static_cast<uid_t>(*nu), static_cast<gid_t>(g.empty() ? *nu : *ng)};
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to make a pipe");
  Fd r(fds[0]), w(fds[1]);
  pid_t child = container_root::fork_in_root(root_fd, [&] {
    r.reset();
    auto passwd = sys::read_file_if_exists("/etc/passwd", 4 << 20).value_or("");
    auto group = sys::read_file_if_exists("/etc/group", 4 << 20).value_or("");
    try { // the reason goes back to the parent, which says it in its one line
      uid_t uid = user::resolve(u, passwd, "").uid;
      gid_t gid = g.empty() ? uid : user::find_group(g, group);
      sys::write_fd(w.get(), cat(uid, ":", gid), "a pipe");
    } catch (const Error &e) {
      sys::write_fd(w.get(), cat("!", e.what()), "a pipe");
    }
  });
  w.reset();
  std::string said = sys::read_fd(r.get(), 4096, "the owner lookup");
  int code = container_root::wait_child(child);
  auto c = said.find(':');
  if (code != 0 || said.empty() || said[0] == '!' || c == std::string::npos)
    fail("unable to resolve --chown=", printable(spec), " in the image's /etc/passwd and ",
         "/etc/group", said.size() > 1 && said[0] == '!' ? ": " + said.substr(1) : "");
  return {static_cast<uid_t>(std::stoul(said.substr(0, c))),
          static_cast<gid_t>(std::stoul(said.substr(c + 1)))};
}

// One source into the root: the child decides where it lands (it sees the image) and
// unpacks the stream this process writes.
void copy_one(int root_fd, const Request &r, const std::string &rel, bool many, Owner owner) {
  std::string host = r.from->path(rel);
  struct stat st;
  check(::lstat(host.c_str(), &st), "unable to stat ", host);
  bool dir = S_ISDIR(st.st_mode);
  bool archive = false;
  if (r.add && S_ISREG(st.st_mode)) {
    Fd f(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!f)
      sys_fail("unable to read ", host);
    char head[512];
    ssize_t n = ::read(f.get(), head, sizeof head);
    archive = n > 0 && archive::looks_like_archive(std::string_view(head, static_cast<size_t>(n)));
  }
  std::string name = rel.empty() ? "" : base_name(rel);
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to make a pipe");
  Fd rd(fds[0]), wr(fds[1]);
  pid_t child = container_root::fork_in_root(root_fd, [&] {
    wr.reset();
    const std::string &dest = r.dest;
    bool into = dir || archive || many || dest.back() == '/' || is_dir(dest);
    if (into) {
      make_dirs(dest, owner);
      if (archive)
        archive::extract_added(rd.get(), dest, archive::Limits::from_env());
      else
        archive::extract_copy(rd.get(), dest, archive::Limits::from_env(), {}, true);
    } else {
      std::string parent = parent_dir(dest);
      make_dirs(parent, owner);
      archive::extract_copy(rd.get(), parent, archive::Limits::from_env(),
                            {name, base_name(dest)}, true);
    }
  });
  rd.reset();
  try {
    if (archive) {
      log::debug("ADD: ", host, " is an archive: unpack it into ", r.dest);
      Fd f(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!f)
        sys_fail("unable to read ", host);
      sys::read_chunks(f.get(), host, [&](std::string_view chunk) {
        sys::write_fd(wr.get(), chunk, "a pipe");
      });
    } else {
      archive::CopyOptions o;
      if (!r.keep_owners) {
        o.uid = owner.uid;
        o.gid = owner.gid;
      }
      o.chmod = r.chmod;
      // .dockerignore: entries named in the stream as top/sub (or sub for a directory's
      // contents), which are rel/sub in the context.
      const build_context::Context *ctx = r.from;
      std::string prefix = rel;
      bool contents = dir;
      auto in_context = [prefix, contents, name](const std::string &entry) {
        std::string sub = contents ? entry : entry.substr(std::min(entry.size(), name.size() + 1));
        return prefix.empty() ? sub : prefix + "/" + sub;
      };
      o.skip = [ctx, in_context, contents, name](const std::string &entry) {
        if (!contents && entry == name)
          return false;
        return ctx->excluded(in_context(entry));
      };
      o.descend = [ctx, in_context](const std::string &entry) {
        return ctx->descend_excluded(in_context(entry));
      };
      archive::pack_path(host, dir ? "" : name, false, wr.get(), o);
    }
  } catch (const Error &) {
    wr.reset();
    if (container_root::wait_child(child) != 0)
      throw ExitNow{125}; // the child said why
    throw;
  }
  wr.reset();
  int code = container_root::wait_child(child);
  if (code != 0)
    throw ExitNow{code};
}

} // namespace

std::optional<mode_t> parse_chmod(std::string_view text) {
  if (text.empty() || text.size() > 5)
    return std::nullopt;
  mode_t m = 0;
  for (char c : text) {
    if (c < '0' || c > '7')
      return std::nullopt;
    m = m * 8 + static_cast<mode_t>(c - '0');
  }
  return m & 07777;
}

void copy(const build_workspace::Workspace &ws, const Request &r) {
  ::signal(SIGPIPE, SIG_IGN); // a child that failed first: EPIPE, and its message
  Owner owner = resolve_owner(ws.root_fd(), r.chown);
  bool many = r.sources.size() > 1;
  if (many && r.dest.back() != '/')
    fail("When using COPY with more than one source file, the destination must be a directory ",
         "and end with a /: ", printable(r.dest));
  for (const auto &rel : r.sources)
    copy_one(ws.root_fd(), r, rel, many, owner);
}

} // namespace koker::build_copy
