// SPDX-License-Identifier: MIT
#include "base/text.hpp"
#include "base/sys.hpp"
#include "base/log.hpp"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <memory>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::sys {

namespace {

// One read(2) of up to n bytes, retried on EINTR: what it got, 0 at the end of the input.
// Throws with what on an error. The one read loop's step behind the readers below.
size_t read_once(int fd, char *buf, size_t n, std::string_view what) {
  for (;;) {
    ssize_t got = ::read(fd, buf, n);
    if (got >= 0)
      return static_cast<size_t>(got);
    if (errno != EINTR)
      sys_fail("unable to read ", what);
  }
}

} // namespace

void read_chunks(int fd, std::string_view what, const std::function<void(std::string_view)> &fn) {
  char buf[64 << 10];
  while (size_t n = read_once(fd, buf, sizeof buf, what))
    fn(std::string_view(buf, n));
}

std::string read_fd(int fd, size_t max, std::string_view what) {
  std::string data;
  read_chunks(fd, what, [&](std::string_view chunk) {
    if (data.size() + chunk.size() > max)
      fail("unable to read ", what, ": more than ", max, " bytes");
    data += chunk;
  });
  return data;
}

std::string read_some(int fd, size_t n, std::string_view what) {
  std::string data(n, '\0');
  size_t got = 0;
  while (got < n) {
    size_t r = read_once(fd, data.data() + got, n - got, what);
    if (r == 0)
      break;
    got += r;
  }
  data.resize(got);
  return data;
}

std::string read_line(int fd, size_t max, std::string_view what, bool *complete) {
  std::string line;
  if (complete)
    *complete = false;
  char c;
  while (line.size() < max && read_once(fd, &c, 1, what) == 1) {
    if (c == '\n') {
      if (complete)
        *complete = true;
      break;
    }
    line += c;
  }
  return line;
}

std::optional<std::string> read_file_if_exists(const std::string &path, size_t max) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT)
    return std::nullopt;
  if (!fd)
    sys_fail("unable to open ", path);
  return read_fd(fd.get(), max, path);
}

std::string read_file(const std::string &path, size_t max) {
  auto data = read_file_if_exists(path, max);
  if (!data) {
    errno = ENOENT;
    sys_fail("unable to open ", path);
  }
  return *data;
}

void write_fd(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sys_fail("unable to write ", what);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_dir(const std::string &dir) {
  Fd fd(check(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "unable to open ", dir));
  check(::fsync(fd.get()), "unable to fsync ", dir);
}

std::string dirname(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos)
    return ".";
  if (slash == 0)
    return "/";
  return std::string(path.substr(0, slash));
}

void write_file_atomic(const std::string &path, std::string_view data, unsigned mode,
                       bool durable) {
  std::string tmp = cat(path, ".tmp-", random_hex(6));
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd)
    sys_fail("unable to create ", tmp);
  try {
    write_fd(fd.get(), data, tmp);
    // fdatasync before rename: after a crash the name points to complete data or old data.
    if (durable)
      check(::fdatasync(fd.get()), "unable to fsync ", tmp);
    fd.reset();
    check(::rename(tmp.c_str(), path.c_str()), "unable to rename ", tmp, " to ", path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (durable)
    fsync_dir(dirname(path));
}

void write_new_file(const std::string &path, std::string_view data, unsigned mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd)
    sys_fail("unable to create ", path);
  write_fd(fd.get(), data, path);
}

void overwrite_file(const std::string &path, std::string_view data, unsigned mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd)
    sys_fail("unable to open ", path);
  write_fd(fd.get(), data, path);
  check(::ftruncate(fd.get(), static_cast<off_t>(data.size())), "unable to truncate ", path);
}

Spawned spawn_program(const std::string &path, const std::vector<std::string> &argv,
                      bool keep_stderr) {
  int in[2], out[2], err[2] = {-1, -1};
  check(::pipe2(in, O_CLOEXEC), "unable to create a pipe");
  Fd in_r(in[0]), in_w(in[1]);
  check(::pipe2(out, O_CLOEXEC), "unable to create a pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (keep_stderr)
    check(::pipe2(err, O_CLOEXEC), "unable to create a pipe");
  Fd err_r(err[0]), err_w(err[1]);
  // posix_spawn, not fork: glibc's clone(CLONE_VM|CLONE_VFORK) copies no page tables, which
  // on a tool of a few MB is most of a fork's cost (koker-run starts koker-net attach on
  // every bridge start, bench/README.md).
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  ::posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  if (keep_stderr)
    ::posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  Spawned s;
  int spawned = path.find('/') != std::string::npos
                    ? ::posix_spawn(&s.pid, path.c_str(), &actions, &attr, args.data(), environ)
                    : ::posix_spawnp(&s.pid, path.c_str(), &actions, &attr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    s.pid = -1;
    if (spawned != ENOENT && spawned != EACCES && spawned != ENOEXEC && spawned != ENOTDIR) {
      errno = spawned;
      sys_fail("unable to start ", path);
    }
    return s;
  }
  s.in = std::move(in_w);
  s.out = std::move(out_r);
  s.err = std::move(err_r);
  return s;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno == ECHILD)
      return -1;
    if (errno != EINTR)
      sys_fail("unable to wait for process ", pid);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Ran run_program(const std::string &path, const std::vector<std::string> &argv,
                std::string_view input, bool keep_stderr) {
  Spawned p = spawn_program(path, argv, keep_stderr);
  Ran r;
  if (p.pid < 0) { // as a child that failed to exec would have said
    r.status = 127;
    return r;
  }
  try {
    if (!input.empty())
      write_fd(p.in.get(), input, path);
    p.in.reset();
    r.out = read_fd(p.out.get(), 16 << 20, cat("the output of ", path));
    if (keep_stderr)
      r.err = read_fd(p.err.get(), 1 << 20, cat("the errors of ", path));
  } catch (...) {
    ::waitpid(p.pid, nullptr, 0);
    throw;
  }
  r.status = wait_status(p.pid);
  return r;
}

std::vector<pid_t> pid_namespace_processes(pid_t pid) {
  auto ns_of = [](const std::string &id) {
    char link[64];
    ssize_t n = ::readlink(cat("/proc/", id, "/ns/pid").c_str(), link, sizeof link);
    return n > 0 ? std::string(link, static_cast<size_t>(n)) : std::string();
  };
  std::string ns = ns_of(std::to_string(pid));
  if (ns.empty())
    return {};
  if (ns == ns_of("self")) // the host's: all of it would be everything
    return {pid};
  std::vector<pid_t> members;
  std::unique_ptr<DIR, int (*)(DIR *)> proc(::opendir("/proc"), ::closedir);
  if (!proc)
    sys_fail("unable to list /proc");
  while (struct dirent *e = ::readdir(proc.get()))
    if (auto id = parse_uint(e->d_name); id && ns_of(e->d_name) == ns)
      members.push_back(static_cast<pid_t>(*id));
  return members;
}

void mkdir_p(const std::string &dir, unsigned mode) {
  if (dir.empty())
    return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      fail("unable to create directory ", dir, ": a non-directory is in the way");
    return;
  }
  std::string parent = dirname(dir);
  if (parent != dir && parent != "." && parent != "/")
    mkdir_p(parent, mode);
  if (::mkdir(dir.c_str(), mode) < 0 && errno != EEXIST)
    sys_fail("unable to create directory ", dir);
}

namespace {
struct DirCloser {
  void operator()(DIR *d) const { ::closedir(d); }
};

// Removes the contents of the directory open as dfd (which it takes over), never following a
// symlink: unlinkat removes the link itself, and subdirectories are opened with O_NOFOLLOW
// relative to their parent. A directory that refuses (the store keeps layers read-only, which
// stops a caller without CAP_DAC_OVERRIDE) is made writable and tried again. dev: the file
// system the directory is on; a subdirectory on another is a mount point.
void remove_contents(int dfd, const std::string &shown, dev_t dev) {
  std::unique_ptr<DIR, DirCloser> d(::fdopendir(dfd));
  if (!d) {
    ::close(dfd);
    sys_fail("unable to read directory ", shown);
  }
  bool made_writable = false;
  auto remove = [&](const char *name, int flags) {
    while (::unlinkat(dfd, name, flags) < 0) {
      if (errno == ENOENT)
        return;
      if (errno != EACCES || made_writable)
        sys_fail("unable to remove ", shown, "/", name);
      made_writable = true;
      ::fchmod(dfd, 0700);
    }
  };
  while (struct dirent *e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..")
      continue;
    // d_type spares a failing unlinkat for the directories most file systems name as such.
    if (e->d_type != DT_DIR) {
      if (::unlinkat(dfd, e->d_name, 0) == 0 || errno == ENOENT)
        continue;
      if (errno == EACCES) {
        remove(e->d_name, 0);
        continue;
      }
      if (errno != EISDIR && errno != EPERM)
        sys_fail("unable to remove ", shown, "/", name);
    }
    int sub = ::openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
      sys_fail("unable to open ", shown, "/", name);
    struct stat below;
    if (::fstat(sub, &below) == 0 && below.st_dev != dev) {
      // A mount point (a container's root left mounted by a killed koker-run): detached, never
      // emptied, since what it shows is not this directory's to remove.
      ::close(sub);
      unmount(cat(shown, "/", name));
      sub = ::openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        sys_fail("unable to open ", shown, "/", name);
    }
    remove_contents(sub, cat(shown, "/", name), dev);
    remove(e->d_name, AT_REMOVEDIR);
  }
}
} // namespace

void unmount(const std::string &path) {
  log::debug("umount -l ", path);
  if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
      errno != ENOENT)
    sys_fail("unable to unmount ", path);
}

bool is_mount_point(const std::string &path) {
  struct statx st {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, 0, &st) < 0) {
    if (errno == ENOENT)
      return false;
    sys_fail("unable to stat ", path);
  }
  return (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
         (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

void rm_rf(const std::string &path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT)
      return;
    sys_fail("unable to stat ", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
      sys_fail("unable to remove ", path);
    return;
  }
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      sys_fail("unable to open ", path);
    remove_contents(fd, path, st.st_dev);
  }
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT)
    sys_fail("unable to remove ", path);
}

namespace {
uint64_t usage_total; // nftw's callback takes no context; tools are single-threaded
int add_usage(const char *, const struct stat *st, int flag, struct FTW *) {
  if (flag == FTW_F || flag == FTW_SL)
    usage_total += static_cast<uint64_t>(st->st_size);
  return 0;
}
} // namespace

uint64_t disk_usage(const std::string &path) {
  usage_total = 0;
  log::debug("nftw ", path, " (FTW_PHYS|FTW_MOUNT): sum the file sizes");
  if (::nftw(path.c_str(), add_usage, 16, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
    sys_fail("unable to measure ", path);
  return usage_total;
}

std::string read_link(const std::string &path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0)
    sys_fail("unable to read the link ", path);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {
// A one-byte message with room for one descriptor.
struct FdMessage {
  char byte = 0;
  struct iovec iov {};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  FdMessage() {
    iov = {&byte, 1};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
};
} // namespace

void send_fd(int sock, int fd) {
  FdMessage m;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  check(::sendmsg(sock, &m.msg, 0), "unable to send a descriptor");
}

Fd receive_fd(int sock) {
  FdMessage m;
  if (::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) <= 0)
    return Fd();
  struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
    return Fd();
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return Fd(fd);
}

bool exists(const std::string &path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {

// The names in dir but . and .., those keep() takes (given the directory's fd and the entry).
std::vector<std::string> names_in(const std::string &dir,
                                  const std::function<bool(int, const struct dirent &)> &keep) {
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d)
    sys_fail("unable to read directory ", dir);
  std::vector<std::string> names;
  while (struct dirent *e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name != "." && name != ".." && (!keep || keep(::dirfd(d.get()), *e)))
      names.emplace_back(name);
  }
  return names;
}

} // namespace

std::vector<std::string> list_dir(const std::string &dir) { return names_in(dir, nullptr); }

std::vector<std::string> list_subdirs(const std::string &dir) {
  return names_in(dir, [](int fd, const struct dirent &e) {
    struct stat st;
    return e.d_type == DT_DIR ||
           (e.d_type == DT_UNKNOWN && ::fstatat(fd, e.d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode));
  });
}

std::string random_hex(size_t n) {
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      sys_fail("unable to read random bytes");
    got += static_cast<size_t>(r);
  }
  return text::hex(bytes);
}

std::string env(const char *name, std::string_view fallback) {
  const char *v = ::getenv(name);
  return (v && *v) ? std::string(v) : std::string(fallback);
}

std::string now_rfc3339() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339(ts);
}

std::string rfc3339(const struct timespec &ts) {
  // The civil date of a day count (H. Hinnant's days_from_civil, inverted): gmtime_r would
  // read /etc/localtime on its first call, for a UTC time.
  long long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
  long long z = days + 719468, era = z / 146097, doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  long long year = yoe + era * 400 + (month <= 2);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", year,
                        month, day, secs / 3600, secs / 60 % 60, secs % 60, ts.tv_nsec);
  return std::string(buf, static_cast<size_t>(n));
}

std::optional<uint64_t> parse_uint(std::string_view text) {
  if (text.empty() || text.size() > 19)
    return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

FileLock::FileLock(const std::string &path, Mode mode, bool wait) : m_path(path) {
  m_fd = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  // flock needs no write access: on a read-only store an existing lock file still serves
  // readers.
  if (!m_fd && (errno == EROFS || errno == EACCES))
    m_fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!m_fd)
    sys_fail("unable to open lock ", path);
  int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  log::debug("flock ", path, mode == Mode::shared ? " LOCK_SH" : " LOCK_EX",
             wait ? "" : "|LOCK_NB");
  while (::flock(m_fd.get(), op) < 0) {
    if (errno == EINTR)
      continue;
    if (errno == EWOULDBLOCK && !wait)
      return;
    sys_fail("unable to lock ", path);
  }
  m_held = true;
}

void FileLock::relock(Mode mode) {
  int op = mode == Mode::shared ? LOCK_SH : LOCK_EX;
  while (::flock(m_fd.get(), op) < 0)
    if (errno != EINTR)
      sys_fail("unable to lock ", m_path);
  m_held = true;
}

void FileLock::unlock() {
  if (m_held)
    ::flock(m_fd.get(), LOCK_UN);
  m_held = false;
}

void Rollback::add(std::string what, std::function<void()> undo) {
  m_steps.emplace_back(std::move(what), std::move(undo));
}

Rollback::~Rollback() { run_now(); }

void Rollback::run_now() {
  for (auto it = m_steps.rbegin(); it != m_steps.rend(); ++it) {
    try {
      log::debug("rollback: ", it->first);
      it->second();
    } catch (const std::exception &e) {
      log::warn("rollback of ", it->first, " failed: ", e.what());
    }
  }
  m_steps.clear();
}

} // namespace koker::sys
