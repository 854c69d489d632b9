// SPDX-License-Identifier: MIT
#include "net/attach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "net/net.hpp"
#include <sys/wait.h>

namespace koker::net {

Attacher::Attacher(const container::Record &rec)
    : m_started(true), m_exe(sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-net") {
  std::vector<std::string> words = {"koker-net", "attach", rec.id, "-"};
  for (const auto &p : rec.publish) {
    words.push_back("-p");
    words.push_back(p);
  }
  log::debug("koker-net attach ", rec.id.substr(0, 12), " - (started ahead: the veth pair, the address",
             rec.publish.empty() ? "" : ", the published ports", " once it reads the PID)");
  // koker-net inherits KOKER_DEBUG and KOKER_QUIET, and its stderr is this tool's.
  m_spawner = std::thread([this, words = std::move(words)] {
    try {
      m_proc = sys::spawn_program(m_exe, words, false);
    } catch (const std::exception &e) {
      m_spawn_error = e.what();
    }
  });
}

void Attacher::spawned() {
  if (m_spawner.joinable())
    m_spawner.join();
}

Attacher &Attacher::operator=(Attacher &&o) noexcept {
  if (this != &o) {
    this->~Attacher();
    o.spawned();
    m_spawn_error = std::move(o.m_spawn_error);
    m_started = std::exchange(o.m_started, false);
    m_exe = std::move(o.m_exe);
    m_proc.pid = std::exchange(o.m_proc.pid, -1);
    m_proc.in = std::move(o.m_proc.in);
    m_proc.out = std::move(o.m_proc.out);
    m_proc.err = std::move(o.m_proc.err);
  }
  return *this;
}

Attacher::~Attacher() {
  spawned();
  if (m_proc.pid < 0)
    return;
  m_proc.in.reset();
  m_proc.out.reset();
  ::waitpid(m_proc.pid, nullptr, 0); // ECHILD in a forked copy (the -d supervisor): nothing
  m_proc.pid = -1;
}

void Attacher::give_pid(const container::Record &rec, pid_t pid) {
  spawned();
  if (m_proc.pid < 0 || !m_proc.in)
    return; // finish says why
  log::debug("koker-net attach ", rec.id.substr(0, 12), ": process ", pid);
  std::string line = cat(pid, "\n");
  try {
    sys::write_fd(m_proc.in.get(), line, "koker-net attach");
  } catch (const Error &) {
    // it ended before reading: its status says why
  }
  m_proc.in.reset();
}

std::string Attacher::finish(const container::Record &rec) {
  spawned();
  m_started = false;
  if (!m_spawn_error.empty())
    fail(m_spawn_error);
  if (m_proc.pid < 0)
    fail("unable to run ", m_exe);
  m_proc.in.reset(); // never given the PID: koker-net reads the end of its input
  // The address is koker-net's last word, on a line of its own, once all is done: with it,
  // koker-net is only exiting, and the wait for that is left to the destructor (the caller
  // keeps this object while the container starts), off the start's path.
  bool complete = false;
  std::string first =
      sys::read_line(m_proc.out.get(), 4096, "the output of koker-net attach", &complete);
  if (complete)
    if (std::string address(text::trim(first)); parse_ip(address))
      return address;
  std::string out = first + (complete ? "\n" : "") +
                    sys::read_fd(m_proc.out.get(), 1 << 20, "the output of koker-net attach");
  m_proc.out.reset();
  // The process that started it waits; a forked copy of it (the -d supervisor) cannot, and
  // takes the address as the sign of success.
  int status = sys::wait_status(m_proc.pid);
  m_proc.pid = -1;
  std::string address(text::trim(out));
  if ((status == 0 || status == -1) && parse_ip(address))
    return address;
  if (status == 0 || status == -1)
    fail("koker-net attach printed no address for container ", rec.id.substr(0, 12));
  throw Error("", status);
}

std::string attach_with_tool(const container::Record &rec, pid_t pid) {
  return Attacher(rec).finish(rec, pid);
}

} // namespace koker::net
