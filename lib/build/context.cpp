// SPDX-License-Identifier: MIT
#include "build/context.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::build_context {
namespace {

std::vector<std::string> read_ignore(const std::string &dir) {
  if (dir.empty())
    return {};
  auto text = sys::read_file_if_exists(dir + "/.dockerignore", 1 << 20);
  return text ? dockerignore::read_patterns(*text) : std::vector<std::string>{};
}

std::string join(const std::string &a, const std::string &b) { return a.empty() ? b : a + "/" + b; }

bool has_wildcard(const std::string &s) { return s.find_first_of("*?[") != std::string::npos; }

} // namespace

Context::Context(std::string dir, bool use_ignore)
    : m_dir(std::move(dir)),
      m_ignore(use_ignore ? read_ignore(m_dir) : std::vector<std::string>{},
               std::vector<std::string>{}) {}

bool Context::excluded(const std::string &rel) const {
  return !rel.empty() && m_ignore.excluded(rel);
}

// Resolves rel's symlinks inside the context, as docker's FollowSymlinkInScope: an absolute
// target starts again at the context's root, ".." stops there. Returns the resolved path.
std::string Context::resolve(const std::string &rel, const std::string &shown) const {
  std::vector<std::string> todo = text::fields(rel, '/');
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string part = todo.back();
    todo.pop_back();
    if (part.empty() || part == ".")
      continue;
    if (part == "..") {
      if (!done.empty())
        done.pop_back();
      continue;
    }
    done.push_back(part);
    std::string cur = path(text::join(done, "/"));
    struct stat st;
    if (::lstat(cur.c_str(), &st) < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        fail("file not found in build context or excluded by .dockerignore: ",
             printable(shown));
      sys_fail("unable to stat ", cur);
    }
    if (!S_ISLNK(st.st_mode))
      continue;
    if (++links > 40)
      fail("too many levels of symbolic links in ", printable(shown));
    std::string target = sys::read_link(cur);
    done.pop_back();
    if (!target.empty() && target[0] == '/')
      done.clear();
    auto parts = text::fields(target, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      todo.push_back(*it);
  }
  return text::join(done, "/");
}

void Context::walk(const std::string &rel, std::vector<std::string> &out) const {
  std::vector<std::string> names = sys::list_dir(path(rel));
  std::sort(names.begin(), names.end());
  for (const auto &n : names) {
    std::string r = join(rel, n);
    bool ignored = excluded(r);
    if (!ignored)
      out.push_back(r);
    struct stat st;
    if (::lstat(path(r).c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
        (!ignored || m_ignore.must_descend(r)))
      walk(r, out);
  }
}

std::vector<std::string> Context::sources(const std::string &src) const {
  if (empty())
    fail("no build context: ", printable(src),
         " cannot be copied from a Dockerfile read from stdin");
  std::string clean = dockerignore::clean(src[0] == '/' ? src.substr(1) : src);
  if (clean == ".")
    clean.clear();
  if (clean == ".." || clean.compare(0, 3, "../") == 0)
    fail("forbidden path outside the build context: ", printable(src));
  if (!has_wildcard(clean)) {
    std::string r = resolve(clean, src);
    if (excluded(clean) || excluded(r))
      fail("file not found in build context or excluded by .dockerignore: ",
           printable(src));
    return {r};
  }
  std::vector<std::string> all, out;
  walk("", all);
  for (const auto &p : all)
    if (::fnmatch(clean.c_str(), p.c_str(), FNM_PATHNAME) == 0)
      out.push_back(resolve(p, p));
  if (out.empty())
    fail("no source files were specified: nothing in the build context matches ",
         printable(src));
  return out;
}

std::string Context::checksum(const std::string &rel) const {
  digest::Sha256 h;
  struct stat top;
  check(::lstat(path(rel).c_str(), &top), "unable to stat ", path(rel));
  std::vector<std::string> entries{rel};
  if (S_ISDIR(top.st_mode))
    walk(rel, entries);
  for (const auto &e : entries) {
    struct stat st;
    std::string p = path(e);
    check(::lstat(p.c_str(), &st), "unable to stat ", p);
    std::string name = e.substr(std::min(e.size(), rel.empty() ? 0 : rel.size() + 1));
    h.update(cat(name, '\0', st.st_mode, '\0'));
    if (S_ISLNK(st.st_mode)) {
      h.update(sys::read_link(p));
    } else if (S_ISREG(st.st_mode)) {
      Fd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (!fd)
        sys_fail("unable to read ", p);
      sys::read_chunks(fd.get(), p, [&](std::string_view chunk) { h.update(chunk); });
    }
    h.update(std::string_view("\0", 1));
  }
  return cat(S_ISDIR(top.st_mode) ? "dir:" : "file:", digest::hex_of(h.finish()));
}

} // namespace koker::build_context
