// SPDX-License-Identifier: MIT
#include "build/run_step.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::build_run {
namespace {

std::string builder_label() {
  int pid = ::getpid();
  return cat(pid, ":", container::process_start_time(pid));
}

} // namespace

int run(const Request &r) {
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-run";
  std::vector<std::string> words = {"koker-run",   "--root",       r.root,  "--name",
                                    r.name,        "--label",      cat(LABEL, "=", builder_label()),
                                    "--network",   r.network,      "--pull", "never",
                                    "--entrypoint", ""};
  for (const auto &e : r.env) {
    words.push_back("-e");
    words.push_back(e);
  }
  words.push_back(r.image_id);
  words.insert(words.end(), r.argv.begin(), r.argv.end());
  log::debug("run ", exe, " ... ", r.image_id.substr(7, 12), " (the RUN step's container ",
             r.name, ")");
  std::vector<char *> argv;
  for (auto &w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = check(::fork(), "unable to fork");
  if (pid == 0) {
    // Dies with the builder (then koker-run's container dies with koker-run).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(125);
    int in = ::open("/dev/null", O_RDONLY);
    int out = r.quiet ? ::open("/dev/null", O_WRONLY) : ::dup(2);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        (r.quiet && ::dup2(out, 2) < 0))
      ::_exit(125);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      sys_fail("unable to wait for koker-run");
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

void remove_stale(const std::string &root) {
  for (const auto &rec : container::list(root)) {
    auto it = rec.labels.find(LABEL);
    if (it == rec.labels.end())
      continue;
    const std::string &v = it->second;
    auto colon = v.find(':');
    auto pid = sys::parse_uint(v.substr(0, colon));
    auto start = colon == std::string::npos ? std::nullopt : sys::parse_uint(v.substr(colon + 1));
    if (pid && start && container::process_alive(static_cast<int>(*pid), *start))
      continue;
    log::debug("remove container ", rec.name, ": its build (", v, ") is gone");
    try {
      lifecycle::remove(root, rec, true);
    } catch (const Error &e) {
      log::warn("unable to remove container ", rec.name, " of a killed build: ", e.what());
    }
  }
}

} // namespace koker::build_run
