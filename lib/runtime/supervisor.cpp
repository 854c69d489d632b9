// SPDX-License-Identifier: MIT
#include "runtime/supervisor.hpp"
#include "base/resident.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "runtime/attach_server.hpp"
#include "runtime/create.hpp"
#include "runtime/restart.hpp"
#include "runtime/start.hpp"
#include "runtime/start_report.hpp"
#include "store/container_log.hpp"
#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <fcntl.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::supervisor {

namespace {

// One run of the container, as the loop below needs it: the container to launch (the -d
// supervisor's, with a fresh log pipe each time) and what to do once it runs.
struct Runner {
  std::function<const launch::Container &()> prepare;
  std::function<void(launch::Started &)> started;
  supervise::Sink sink;
  bool interactive = false;
  attach::Server *server = nullptr; // a -i or -t container's attach socket
};

// Appends data to the log: one that cannot be written (a full disk) loses output, not the
// container, as container_log::Writer does.
void append_log(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Runs the container and waits for it; then, while its restart policy says so, starts it
// again after docker's back-off, as koker-start would: the root mounted again, the /etc files
// written, a fresh process, cgroup and address (start::on_clone). Returns the last exit code.
int run_and_keep(const std::string &root, container::Record &rec, const launch::Request &first,
                 sys::Rollback &undo, const Runner &runner) {
  launch::Request req = first;
  restart::Backoff backoff;
  for (bool restarted = false;; restarted = true) {
    auto began = std::chrono::steady_clock::now();
    int code;
    bool again = false;
    try {
      launch::Started s = launch::start(runner.prepare(), req, undo);
      undo.dismiss();
      if (runner.started)
        runner.started(s);
      code = launch::finish(root, rec, s, runner.interactive, runner.sink,
                            rec.restart_policy == "no" ? nullptr : &again, runner.server);
      start::stop_network(); // a user-mode helper goes with the run it served
      if (runner.server) // after the record: an attacher that reads it finds the code
        runner.server->end_run(code);
    } catch (const Error &e) {
      if (!restarted)
        throw; // the first start's failure is the caller's to report
      undo.run_now();
      log::debug("the restart of container ", rec.id.substr(0, 12), " failed: ", e.what());
      container::update(root, rec.id, [&](container::Record &r) {
        r.status = "exited";
        r.error = e.what();
      });
      return e.exit_code();
    }
    if (!again)
      return code;
    if (!restart::wait_out(root, rec.id, backoff.next(std::chrono::steady_clock::now() - began)))
      return code;
    try {
      store::Store store(root);
      create::mount_root(store, rec, undo);
      rec.ip_address.clear();
      rec.ip6_address.clear();
      create::write_etc_files(container::dir_of(root, rec.id), rec, false);
    } catch (const Error &e) {
      undo.run_now();
      container::update(root, rec.id, [&](container::Record &r) {
        r.status = "exited";
        r.error = e.what();
      });
      return code;
    }
    // A restart is koker-start's: on_clone does all, the network included.
    req.after_clone = [&root, &rec, &undo](pid_t pid) { start::on_clone(root, rec, undo, pid); };
    req.before_go = nullptr;
    req.net_namespace = -1; // the first run's went with it: a new one from the clone
  }
}

// The supervisor's life: detach from the caller, start the container, say it runs, wait.
[[noreturn]] void supervise(const std::string &root, container::Record &rec,
                            const launch::Container &c, const launch::Request &req,
                            sys::Rollback &undo, Fd ready, std::optional<attach::Server> &server) {
  int code = 125;
  std::string dir = container::dir_of(root, rec.id);
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
    // through a pipe to this process, which rotates the files (as conmon does), and so it
    // does for a container with an attach socket, whose attachers get it too.
    std::optional<container_log::Writer> rotating;
    Fd pipe_r, pipe_w, stdin_r, stdin_w;
    if (rec.log_max_size) {
      rotating.emplace(container::dir_of(root, rec.id),
                       container_log::Limits{rec.log_max_size, rec.log_max_files});
      log::debug("the container's output goes through a pipe to the supervisor (max-size ",
                 rec.log_max_size, ", max-file ", rec.log_max_files, ")");
    }
    // Let go of the caller's stdin and stdout at once ($(koker-run -d) must not wait for the
    // supervisor); stderr stays until the container runs, for errors and the -D trace.
    ::dup2(null.get(), 0);
    ::dup2(logfd.get(), 1);
    log::debug("supervisor ", ::getpid(), ": the container's output goes to ", log_path);
    launch::Container with_log = c;
    with_log.init.die_with_parent = false;
    Runner runner;
    runner.prepare = [&]() -> const launch::Container & {
      // A pipe for each run: its end of file says the run is over. Attachers see the output
      // only if it comes through here.
      if (rotating || server) {
        int p[2];
        check(::pipe2(p, O_CLOEXEC), "unable to create the log pipe");
        pipe_r = Fd(p[0]);
        pipe_w = Fd(p[1]);
      }
      with_log.init.output_fd = pipe_w ? pipe_w.get() : logfd.get();
      // -i without -t: stdin is a pipe this process keeps open, as docker's -i keeps it, for
      // attachers to write to (with -t they write to the pty master).
      if (server && rec.open_stdin && !rec.tty) {
        int p[2];
        check(::pipe2(p, O_CLOEXEC), "unable to create the stdin pipe");
        stdin_r = Fd(p[0]);
        stdin_w = Fd(p[1]);
        with_log.init.stdin_fd = stdin_r.get();
      }
      return with_log;
    };
    runner.started = [&](launch::Started &s) {
      pipe_w.reset(); // the container holds its own copy: EOF comes when it is gone
      stdin_r.reset();
      s.output = std::move(pipe_r);
      if (server)
        server->begin_run(s.pid, rec.tty ? s.master.get() : -1, std::move(stdin_w), rec.stdin_once);
      if (ready) {
        ::dup2(logfd.get(), 2);
        log::set_level(log::Level::quiet); // nobody reads the supervisor's stderr now
        start_report::send_ready(ready.get());
        ready.reset();
        // From here on it mostly sleeps: what the start touched need not stay resident.
        resident::shed();
      }
    };
    if (rotating || server)
      runner.sink = [&](std::string_view data) {
        if (rotating)
          rotating->write(data);
        else
          append_log(logfd.get(), data);
        if (server)
          server->output(data);
      };
    runner.server = server ? &*server : nullptr;
    code = run_and_keep(root, rec, req, undo, runner);
  } catch (...) {
    undo.run_now(); // _exit below skips destructors
    code = ready ? start_report::send_current(ready.get()) : 125;
  }
  if (server)
    attach::remove(dir);
  ::_exit(code);
}

} // namespace

void start_detached(const std::string &root, container::Record &rec, const launch::Container &c,
                    const launch::Request &req, sys::Rollback &undo, Fd *attacher) {
  // The attach socket is made here, before the fork, so that an attacher (koker-start -a)
  // connects before the container can write a byte: the supervisor accepts it before it
  // reads the container's output the first time.
  std::optional<attach::Server> server;
  std::string dir = container::dir_of(root, rec.id);
  if (rec.open_stdin || rec.tty) {
    server.emplace(attach::listen(dir));
    if (attacher)
      *attacher = attach::connect(dir);
  }
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
    if (attacher) // the attacher's end is the caller's: a copy here would hide its hang-up
      attacher->reset();
    supervise(root, rec, c, req, undo, Fd(ready[1]), server);
  }
  server.reset(); // the supervisor's now
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
    if (attacher)
      attacher->reset();
    fail("the supervisor of container ", rec.id.substr(0, 12), " died while starting it");
  }
}

int foreground(const std::string &root, container::Record &rec, const launch::Container &c,
               const launch::Request &req, sys::Rollback &undo, bool interactive) {
  Runner runner;
  runner.prepare = [&c]() -> const launch::Container & { return c; };
  runner.interactive = interactive;
  return run_and_keep(root, rec, req, undo, runner);
}

} // namespace koker::supervisor
