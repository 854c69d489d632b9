// SPDX-License-Identifier: MIT
#include "net/attach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "net/net.hpp"
#include <sys/wait.h>
#include <unistd.h>

namespace koker::net {

std::string record_frame(const container::Record &rec) {
  std::string json = rec.to_json().dump();
  return cat(json.size(), "\n", json);
}

std::optional<container::Record> read_record(int fd, std::string_view what) {
  std::string size_text = sys::read_line(fd, 16, what);
  if (size_text.empty())
    return std::nullopt;
  auto size = sys::parse_uint(size_text);
  if (!size || *size == 0 || *size > (16u << 20))
    fail("not the size of a container's record on ", what, ": ", printable(size_text));
  std::string text = sys::read_some(fd, *size, what);
  if (text.size() != *size)
    return std::nullopt;
  std::string named = cat("the container's record on ", what);
  return container::Record::from_json(json::parse(text, named), named);
}

Attacher::Attacher(Ahead) : m_ahead(true) {
  log::debug("koker-net attach --ahead (started first: the container's addresses, veth pair ",
             "and port rules once it has the record and the network namespace)");
  start({"koker-net", "attach", "--ahead"});
}

Attacher::Attacher(const container::Record &rec) {
  std::vector<std::string> words = {"koker-net", "attach", rec.id, "-"};
  for (const auto &p : rec.publish) {
    words.push_back("-p");
    words.push_back(p);
  }
  log::debug("koker-net attach ", rec.id.substr(0, 12), " - (the veth pair, the address",
             rec.publish.empty() ? "" : ", the published ports", " once it reads the PID)");
  start(std::move(words));
}

void Attacher::start(std::vector<std::string> words) {
  m_started = true;
  m_exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-net";
  // koker-net inherits KOKER_DEBUG and KOKER_QUIET, and its stderr is this tool's.
  m_spawner = std::thread([this, words = std::move(words)] {
    try {
      m_proc = sys::spawn_program(m_exe, words, false);
    } catch (const std::exception &e) {
      m_spawn_error = e.what();
    }
  });
}

void Attacher::plug(const container::Record &rec, int netns) {
  spawned();
  if (!m_ahead || m_proc.pid < 0 || !m_proc.in)
    return; // take_addresses says why
  // The record, then the namespace: koker-net reserves the addresses as it reads on.
  std::string input = cat(record_frame(rec), "/proc/", ::getpid(), "/fd/", netns, "\n");
  try {
    sys::write_fd(m_proc.in.get(), input, "koker-net attach");
  } catch (const Error &) {
    // it ended before reading: its status says why
  }
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
    m_ahead = o.m_ahead;
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

void Attacher::failed(const container::Record &rec, const std::string &out) {
  m_proc.out.reset();
  // The process that started it waits; a forked copy of it (the -d supervisor) cannot.
  int status = sys::wait_status(m_proc.pid);
  m_proc.pid = -1;
  if (status == 0 || status == -1)
    fail("koker-net attach printed ", out.empty() ? "nothing" : printable(out.substr(0, 64)),
         " for container ", rec.id.substr(0, 12));
  failed_with(rec, status);
}

void Attacher::failed_with(const container::Record &rec, int status) {
  // Killed, it said nothing: say it here. Else its one line said why, and its code is ours.
  if (status > 128)
    fail("koker-net attach for container ", rec.id.substr(0, 12), " was killed by signal ",
         status - 128);
  throw Error("", status);
}

void Attacher::take_addresses(container::Record &rec) {
  spawned();
  if (!m_spawn_error.empty())
    fail(m_spawn_error);
  if (m_proc.pid < 0)
    fail("unable to run ", m_exe);
  auto plugged = read_record(m_proc.out.get(), "the output of koker-net attach");
  if (!plugged)
    failed(rec, "");
  rec.ip_address = plugged->ip_address;
  rec.ip6_address = plugged->ip6_address;
  rec.networks = plugged->networks;
  rec.publish = plugged->publish;
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
  if (m_ahead) {
    // The proxies come after the PID: a failure to start them fails the start. Without
    // them it is exiting already, and the destructor reaps it.
    if (!rec.publish.empty()) {
      m_proc.out.reset(); // it writes nothing more
      int status = sys::wait_status(m_proc.pid);
      m_proc.pid = -1;
      if (status != 0 && status != -1)
        failed_with(rec, status);
    }
    return rec.ip_address;
  }
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
  std::string address(text::trim(out));
  if (parse_ip(address)) {
    m_proc.out.reset();
    int status = sys::wait_status(m_proc.pid);
    m_proc.pid = -1;
    if (status == 0 || status == -1)
      return address;
    failed_with(rec, status);
  }
  failed(rec, address);
}

std::string attach_with_tool(const container::Record &rec, pid_t pid) {
  return Attacher(rec).finish(rec, pid);
}

} // namespace koker::net
