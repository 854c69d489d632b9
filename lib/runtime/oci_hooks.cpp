// SPDX-License-Identifier: MIT
#include "runtime/oci_hooks.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/process.hpp"
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace koker::oci {

namespace {

// What a hook printed, at most its last 4 KiB: enough for its last line in a message.
constexpr size_t output_kept = 4096;

// The hook's stdin: a memfd holding the state, so that a hook that never reads it cannot
// block koker-oci, whatever the size of the annotations (a pipe holds 64 KiB).
Fd state_input(std::string_view state) {
  Fd fd(::memfd_create("oci-state", MFD_CLOEXEC));
  if (!fd)
    sys_fail("unable to create the hooks' stdin");
  sys::write_fd(fd.get(), state, "the hooks' stdin");
  check(::lseek(fd.get(), 0, SEEK_SET), "unable to rewind the hooks' stdin");
  return fd;
}

// The child's side: never returns. Output goes to one pipe; an execve failure goes back as
// its errno on err_fd, which closes on a successful execve.
[[noreturn]] void exec_hook(const Hook &h, int in, int out, int err_fd) {
  ::setpgid(0, 0); // its own process group, killed whole at its timeout
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  // Nothing of koker-oci's reaches the hook, not even descriptors --preserve-fds passed on.
  ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  process::reset_signals(); // koker-oci ignores SIGPIPE; run blocks the signals it forwards
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char *> argv, envp;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env ? *h.env : std::vector<std::string>{};
  for (auto &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  // No env in the config: koker-oci's own environment, as runc (Go's exec.Cmd with Env nil).
  ::execve(h.path.c_str(), argv.data(), h.env ? envp.data() : environ);
  int e = errno;
  ssize_t ignored = ::write(err_fd, &e, sizeof e);
  (void)ignored;
  ::_exit(127);
}

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Reads what is there without waiting; false at end of file.
bool drain(int fd, std::string &kept) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      kept.append(buf, static_cast<size_t>(n));
      if (kept.size() > output_kept)
        kept.erase(0, kept.size() - output_kept);
      continue;
    }
    return n != 0;
  }
}

// The last non-empty line of text.
std::string last_line(std::string text) {
  text.erase(text.find_last_not_of("\r\n") + 1); // npos + 1: all of it
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

void run_hook(const Hook &h, std::string_view kind, std::string_view state) {
  std::string name = cat(kind, " hook ", h.path);
  Fd in = state_input(state);
  int out[2], err[2];
  check(::pipe2(out, O_CLOEXEC), "unable to create a pipe");
  Fd out_r(out[0]), out_w(out[1]);
  check(::pipe2(err, O_CLOEXEC), "unable to create a pipe");
  Fd err_r(err[0]), err_w(err[1]);
  // Not the write end: a hook that fills the pipe waits for us, and we read as it runs.
  check(::fcntl(out_r.get(), F_SETFL, O_NONBLOCK), "unable to set up the output of ", name);
  log::debug("run ", name, h.timeout_s ? cat(" (timeout ", *h.timeout_s, " s)") : "",
             " with the state on stdin");
  pid_t pid = ::fork();
  if (pid < 0)
    sys_fail("unable to fork ", name);
  if (pid == 0)
    exec_hook(h, in.get(), out_w.get(), err_w.get());
  out_w.reset();
  err_w.reset();
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    errno = e;
    sys_fail("unable to wait for ", name);
  }
  // Waits for the hook's exit, not for end of file on its output: something it started in
  // the background may hold the pipe open for long.
  std::string output;
  bool reading = true;
  int64_t deadline = h.timeout_s ? now_ms() + int64_t{*h.timeout_s} * 1000 : -1;
  for (;;) {
    struct pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {reading ? out_r.get() : -1, POLLIN, 0}};
    int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
    int n = ::poll(p, 2, wait);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sys_fail("unable to wait for ", name);
    if (n == 0) {
      log::debug("kill -KILL -", pid, " (", name, " timed out)");
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL); // in case it left its group
      ::waitpid(pid, nullptr, 0);
      fail("unable to run ", name, ": timed out after ", *h.timeout_s, " s");
    }
    if (reading && (p[1].revents & (POLLIN | POLLHUP)))
      reading = drain(out_r.get(), output);
    if (p[0].revents & POLLIN)
      break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      sys_fail("unable to wait for ", name);
  if (reading)
    drain(out_r.get(), output);
  int exec_errno = 0;
  if (::read(err_r.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    errno = exec_errno;
    sys_fail("unable to run ", name);
  }
  if (log::debug_on() && !output.empty())
    for (const auto &line : text::split(output, '\n'))
      if (!line.empty())
        log::debug(name, ": ", printable(line, 200));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  std::string why = WIFEXITED(status) ? cat("exit status ", WEXITSTATUS(status))
                                      : cat("killed by signal ", WTERMSIG(status));
  std::string said = last_line(output);
  fail("unable to run ", name, ": ", why, said.empty() ? "" : ": ", printable(said, 200));
}

json::Value hook_list_json(const std::vector<Hook> &hooks) {
  json::Value list = json::Value::array();
  for (const auto &h : hooks) {
    json::Value &o = list.push(json::Value::object());
    o.set("path", h.path);
    if (!h.args.empty())
      o.set("args", json::string_array(h.args));
    if (h.env)
      o.set("env", json::string_array(*h.env));
    if (h.timeout_s)
      o.set("timeout", *h.timeout_s);
  }
  return list;
}

} // namespace

void run_hooks(const std::vector<Hook> &hooks, std::string_view kind, const State &st,
               std::string_view status) {
  if (hooks.empty())
    return;
  std::string state = state_json(st, status);
  for (const auto &h : hooks)
    run_hook(h, kind, state);
}

void run_hooks_warn(const std::vector<Hook> &hooks, std::string_view kind, const State &st,
                    std::string_view status) {
  if (hooks.empty())
    return;
  std::string state = state_json(st, status);
  for (const auto &h : hooks) {
    try {
      run_hook(h, kind, state);
    } catch (const std::exception &e) {
      log::warn(e.what());
    }
  }
}

json::Value hooks_json(const Hooks &hooks) {
  json::Value v = json::Value::object();
  const std::pair<const char *, const std::vector<Hook> *> kinds[] = {
      {"prestart", &hooks.prestart},
      {"createRuntime", &hooks.create_runtime},
      {"createContainer", &hooks.create_container},
      {"startContainer", &hooks.start_container},
      {"poststart", &hooks.poststart},
      {"poststop", &hooks.poststop}};
  for (const auto &[key, list] : kinds)
    if (!list->empty())
      v.set(key, hook_list_json(*list));
  return v;
}

} // namespace koker::oci
