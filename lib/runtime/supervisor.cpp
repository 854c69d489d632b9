// SPDX-License-Identifier: MIT
#include "runtime/supervisor.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "runtime/start_report.hpp"
#include "store/container_log.hpp"
#include <optional>
#include <fcntl.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::supervisor {

namespace {

// The supervisor's life: detach from the caller, start the container, say it runs, wait.
[[noreturn]] void supervise(const std::string &root, container::Record &rec,
                            const launch::Container &c, const launch::Request &req,
                            sys::Rollback &undo, Fd ready) {
  int code = 125;
  try {
    ::setsid();
    std::string log_path = container::dir_of(root, rec.id) + "/container.log";
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null)
      sys_fail("unable to open /dev/null");
    Fd logfd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!logfd)
      sys_fail("unable to open ", log_path);
    // Without a size limit the container writes its log itself; with one, its output comes
    // through a pipe to this process, which rotates the files (as conmon does).
    std::optional<container_log::Writer> rotating;
    Fd pipe_r, pipe_w;
    if (rec.log_max_size) {
      rotating.emplace(container::dir_of(root, rec.id),
                       container_log::Limits{rec.log_max_size, rec.log_max_files});
      int p[2];
      check(::pipe2(p, O_CLOEXEC), "unable to create the log pipe");
      pipe_r = Fd(p[0]);
      pipe_w = Fd(p[1]);
      log::debug("the container's output goes through a pipe to the supervisor (max-size ",
                 rec.log_max_size, ", max-file ", rec.log_max_files, ")");
    }
    // Let go of the caller's stdin and stdout at once ($(koker-run -d) must not wait for the
    // supervisor); stderr stays until the container runs, for errors and the -D trace.
    ::dup2(null.get(), 0);
    ::dup2(logfd.get(), 1);
    log::debug("supervisor ", ::getpid(), ": the container's output goes to ", log_path);
    launch::Container with_log = c;
    with_log.init.output_fd = pipe_w ? pipe_w.get() : logfd.get();
    with_log.init.die_with_parent = false;
    launch::Started s = launch::start(with_log, req, undo);
    undo.dismiss();
    pipe_w.reset(); // the container holds its own copy: EOF comes when it is gone
    s.output = std::move(pipe_r);
    ::dup2(logfd.get(), 2);
    log::set_level(log::Level::quiet); // nobody reads the supervisor's stderr now
    start_report::send_ready(ready.get());
    ready.reset();
    supervise::Sink sink;
    if (rotating)
      sink = [&rotating](std::string_view data) { rotating->write(data); };
    code = launch::finish(root, rec, s, false, sink);
  } catch (...) {
    undo.run_now(); // _exit below skips destructors
    code = start_report::send_current(ready.get());
  }
  ::_exit(code);
}

} // namespace

void start_detached(const std::string &root, container::Record &rec, const launch::Container &c,
                    const launch::Request &req, sys::Rollback &undo) {
  int ready[2];
  check(::pipe2(ready, O_CLOEXEC), "unable to create a pipe");
  // The supervisor lives as long as the container: hand the heap freed so far (libseccomp's,
  // the first time a store builds its filter) back before it is copied.
  ::malloc_trim(0);
  pid_t sup = ::fork();
  if (sup < 0)
    sys_fail("unable to fork the supervisor");
  if (sup == 0) {
    ::close(ready[0]);
    supervise(root, rec, c, req, undo, Fd(ready[1]));
  }
  ::close(ready[1]);
  undo.dismiss(); // the supervisor owns the clean-up now
  Fd ready_r(ready[0]);
  bool runs = false;
  try {
    runs = start_report::wait(ready_r.get());
  } catch (...) {
    ::waitpid(sup, nullptr, 0);
    throw;
  }
  if (!runs) {
    ::waitpid(sup, nullptr, 0);
    fail("the supervisor of container ", rec.id.substr(0, 12), " died while starting it");
  }
}

} // namespace koker::supervisor
