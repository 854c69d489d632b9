// SPDX-License-Identifier: MIT
#include "runtime/userns.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::userns {
namespace {

constexpr const char *NEWUIDMAP = "/usr/bin/newuidmap", *NEWGIDMAP = "/usr/bin/newgidmap";

// The user's login name, from /etc/passwd itself (the tools are static: no NSS).
std::string user_name(uid_t uid) {
  std::string passwd = sys::read_file_if_exists("/etc/passwd", 4 << 20).value_or("");
  for (const auto &line : text::fields(passwd, '\n')) {
    auto f = text::split(line, ':');
    if (f.size() > 2 && sys::parse_uint(f[2]) == uid)
      return f[0];
  }
  return std::to_string(uid);
}

// The user's primary group, from /etc/passwd; the gid itself when the line is missing.
gid_t primary_gid(uid_t uid) {
  std::string passwd = sys::read_file_if_exists("/etc/passwd", 4 << 20).value_or("");
  for (const auto &line : text::fields(passwd, '\n')) {
    auto f = text::split(line, ':');
    if (f.size() > 3 && sys::parse_uint(f[2]) == uid)
      if (auto g = sys::parse_uint(f[3]))
        return static_cast<gid_t>(*g);
  }
  return ::getegid();
}

// newuidmap PID 0 ID 1 1 START COUNT: the user is 0, its range 1..COUNT.
std::vector<std::string> map_command(const char *tool, pid_t pid, unsigned id, Range r) {
  return {tool, std::to_string(pid), "0", std::to_string(id), "1", "1",
          std::to_string(r.start), std::to_string(r.count)};
}

// The helper, outside the namespace: waits for the tool's unshare (a byte on go), writes
// both maps, reports on result (nothing: done; else the line to print) and exits.
[[noreturn]] void helper(int go, int result, const std::vector<std::string> &uid_cmd,
                         const std::vector<std::string> &gid_cmd) {
  char byte;
  ssize_t n;
  while ((n = ::read(go, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1)
    ::_exit(1); // the tool failed before its unshare and says so itself
  for (const auto *cmd : {&uid_cmd, &gid_cmd}) {
    std::string said;
    try {
      sys::Ran r = sys::run_program((*cmd)[0], *cmd);
      if (r.status == 0)
        continue;
      said = r.status == 127 ? "not found" : std::string(text::trim(r.err));
    } catch (const std::exception &e) {
      said = e.what();
    }
    std::string line = cat((*cmd)[0], " failed: ", said);
    (void)!::write(result, line.data(), line.size());
    ::_exit(1);
  }
  ::_exit(0);
}

} // namespace

Range find_range(const std::string &file, const std::string &user, uid_t id) {
  std::string ranges = sys::read_file_if_exists(file, 4 << 20).value_or("");
  for (const auto &line : text::fields(ranges, '\n')) {
    auto f = text::split(line, ':');
    if (f.size() != 3 || (f[0] != user && f[0] != std::to_string(id)))
      continue;
    auto start = sys::parse_uint(f[1]), count = sys::parse_uint(f[2]);
    if (start && count && *count > 0 && *start + *count <= 4294967295ULL)
      return {static_cast<uint32_t>(*start), static_cast<uint32_t>(*count)};
  }
  fail("rootless: no range for ", user, " in ", file, ": add a line such as ", user,
       ":100000:65536");
}

uint32_t highest_mapped_gid() {
  uint64_t highest = 0;
  for (const auto &r : rootless::read_id_map("/proc/self/gid_map"))
    if (r.count > 0)
      highest = std::max(highest, r.inside + r.count - 1);
  return static_cast<uint32_t>(std::min<uint64_t>(highest, 2147483647));
}

bool inside() { return rootless::active() && ::geteuid() == 0; }

void enter() {
  if (!rootless::active() || ::geteuid() == 0)
    return; // root, or a rootless tool's child already inside
  uid_t uid = ::geteuid();
  gid_t gid = primary_gid(uid);
  std::string user = user_name(uid);
  Range uids = find_range("/etc/subuid", user, uid), gids = find_range("/etc/subgid", user, uid);
  for (const char *tool : {NEWUIDMAP, NEWGIDMAP})
    if (::access(tool, X_OK) < 0)
      fail("rootless: ", tool, " is missing: install the uidmap package");
  auto uid_cmd = map_command(NEWUIDMAP, ::getpid(), uid, uids);
  auto gid_cmd = map_command(NEWGIDMAP, ::getpid(), gid, gids);

  int go[2], result[2];
  check(::pipe2(go, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(result, O_CLOEXEC), "unable to create a pipe");
  Fd go_r(go[0]), go_w(go[1]), result_r(result[0]), result_w(result[1]);
  pid_t pid = ::fork();
  if (pid < 0)
    sys_fail("rootless: unable to fork the id-mapping helper");
  if (pid == 0)
    helper(go[0], result[1], uid_cmd, gid_cmd);
  go_r.reset();
  result_w.reset();
  auto reap = [pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  log::debug("rootless: unshare(NEWUSER|NEWNS) as uid ", uid, " (", user, ")");
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
    int e = errno;
    go_w.reset();
    reap();
    errno = e;
    sys_fail("rootless: unable to make a user namespace (kernel.unprivileged_userns_clone?)");
  }
  log::debug("rootless: ", text::join(uid_cmd, " "));
  log::debug("rootless: ", text::join(gid_cmd, " "));
  check(::write(go_w.get(), "g", 1), "rootless: unable to wake the id-mapping helper");
  go_w.reset();
  std::string said = sys::read_fd(result_r.get(), 4096, "the id-mapping helper's report");
  int status = reap();
  if (!said.empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("rootless: ", said.empty() ? "the id-mapping helper failed" : said);
  log::debug("rootless: uid_map: ",
             text::trim(sys::read_file("/proc/self/uid_map", 4096)), "; gid_map: ",
             text::trim(sys::read_file("/proc/self/gid_map", 4096)));
  // Root inside, with no supplementary group of the host's (newgidmap allowed setgroups).
  check(::setresgid(0, 0, 0), "rootless: unable to become gid 0 in the user namespace");
  check(::setgroups(0, nullptr), "rootless: unable to drop the supplementary groups");
  check(::setresuid(0, 0, 0), "rootless: unable to become uid 0 in the user namespace");
  // Nothing mounted here may reach the host's tree (a less privileged namespace gets slave
  // mounts already; say so explicitly, as every container does).
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr),
        "rootless: unable to make / a slave mount in the new mount namespace");
}

} // namespace koker::userns
