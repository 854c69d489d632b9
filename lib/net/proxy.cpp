// SPDX-License-Identifier: MIT
// The [::1] proxy of published ports (see proxy.hpp). No netlink: release() stops it from
// every tool.
#include "net/proxy.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/detail.hpp"
#include "store/container.hpp"
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace koker::net {

namespace {

std::string record_path(const Network &n, const std::string &id) {
  return cat(n.dir(), "/proxy-", id);
}

// process_alive, but a zombie is gone: its sockets are closed, and init may take its time
// to reap it.
bool running(int pid, uint64_t start) {
  if (!container::process_alive(pid, start))
    return false;
  auto stat = sys::read_file_if_exists(cat("/proc/", pid, "/stat"), 4096);
  size_t paren = stat ? stat->rfind(')') : std::string::npos;
  return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
}

// Copies a to b and b to a until both directions have ended (each end's EOF passed on as a
// shutdown of the other's writing side).
void relay(int a, int b) {
  bool open_a = true, open_b = true;
  char buf[64 << 10];
  while (open_a || open_b) {
    pollfd p[2] = {{open_a ? a : -1, POLLIN, 0}, {open_b ? b : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t got = ::read(from, buf, sizeof buf);
      if (got <= 0) {
        ::shutdown(to, SHUT_WR);
        (i == 0 ? open_a : open_b) = false;
        continue;
      }
      for (ssize_t done = 0; done < got;) {
        ssize_t w = ::write(to, buf + done, static_cast<size_t>(got - done));
        if (w < 0 && errno == EINTR)
          continue;
        if (w <= 0)
          return;
        done += w;
      }
    }
  }
}

// One connection, in a process of its own that dies with the proxy (PDEATHSIG).
void serve_connection(int client, const std::string &target, uint16_t port) {
  sockaddr_storage to{};
  socklen_t len = 0;
  if (auto a6 = parse_ip6(target)) {
    auto *s6 = reinterpret_cast<sockaddr_in6 *>(&to);
    s6->sin6_family = AF_INET6;
    std::memcpy(&s6->sin6_addr, a6->data(), 16);
    s6->sin6_port = htons(port);
    len = sizeof *s6;
  } else {
    auto *s4 = reinterpret_cast<sockaddr_in *>(&to);
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(parse_ip(target).value_or(0));
    s4->sin_port = htons(port);
    len = sizeof *s4;
  }
  Fd out(::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!out || ::connect(out.get(), reinterpret_cast<sockaddr *>(&to), len) < 0) {
    log::debug("proxy: connect to ", target, " port ", port, ": ", std::strerror(errno));
    return;
  }
  relay(client, out.get());
}

} // namespace

std::vector<Port> loopback6_ports(const Lease &l) {
  std::vector<Port> out;
  for (const auto &p : l.ports)
    if (p.proto == "tcp" &&
        ((p.host_ip == "0.0.0.0" && !l.ip6.empty()) || p.host_ip == "::" || p.host_ip == "::1"))
      out.push_back(p);
  return out;
}

void start_proxy(const Network &n, const Lease &l, int container_pid) {
  std::vector<Port> ports = loopback6_ports(l);
  if (ports.empty())
    return;
  std::string target = l.ip6.empty() ? l.ip : l.ip6;
  std::vector<Fd> socks;
  std::vector<std::string> args = {"koker-net", "proxy", record_path(n, l.id),
                                   std::to_string(container_pid), target};
  for (const auto &p : ports) {
    Fd s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s)
      sys_fail("unable to open an IPv6 socket");
    int on = 1;
    ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(p.host_port);
    log::debug("bind([::1]:", p.host_port, "/tcp) and listen, for the proxy to ", target, ":",
               p.port);
    if (::bind(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 ||
        ::listen(s.get(), 128) < 0)
      sys_fail("unable to publish port ", p.host_port, "/tcp on [::1]");
    args.push_back(cat(s.get(), ":", p.port));
    socks.push_back(std::move(s));
  }
  std::string log_path = record_path(n, l.id) + ".log";
  log::debug("koker-net proxy ", l.id.substr(0, 12), " (", args.size() - 5,
             " port(s) on [::1], in the background; its log: ", log_path, ")");
  std::vector<int> keep;
  for (const auto &s : socks)
    keep.push_back(s.get());
  bool ready = detail::start_background(args, "KOKER_PROXY_READY_FD", keep, log_path);
  socks.clear(); // the proxy's now
  if (!ready)
    fail("the proxy of container ", l.id.substr(0, 12), "'s ports on [::1] did not start (see ",
         log_path, ")");
}

void stop_proxy(const Network &n, const std::string &id) {
  std::string path = record_path(n, id);
  try {
    auto text = sys::read_file_if_exists(path, 64);
    if (!text)
      return;
    auto w = text::split(std::string(text::trim(*text)), ' ');
    int pid = static_cast<int>(sys::parse_uint(w[0]).value_or(0));
    uint64_t start = w.size() > 1 ? sys::parse_uint(w[1]).value_or(0) : 0;
    if (pid > 0 && running(pid, start)) {
      log::debug("kill -TERM ", pid, " (the [::1] proxy of container ", id.substr(0, 12), ")");
      ::kill(pid, SIGTERM);
      // Its listening sockets close with it: the port is free for the next start.
      for (int i = 0; i < 200 && running(pid, start); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    log::debug("unlink ", path);
    ::unlink(path.c_str());
    ::unlink((path + ".log").c_str());
  } catch (const std::exception &e) {
    log::warn("unable to stop the [::1] proxy of container ", id.substr(0, 12), ": ", e.what());
  }
}

std::vector<std::string> proxy_ids(const Network &n) {
  std::vector<std::string> ids;
  if (!sys::exists(n.dir()))
    return ids;
  for (const auto &name : sys::list_dir(n.dir()))
    if (name.rfind("proxy-", 0) == 0 && container::valid_id(name.substr(6)))
      ids.push_back(name.substr(6));
  return ids;
}

void serve_proxy(const std::string &record, int container_pid, const std::string &target,
                 const std::vector<std::pair<int, uint16_t>> &listeners, int ready_fd) {
  // The container's end is the proxy's: a pidfd polls readable when its process exits.
  Fd container(static_cast<int>(::syscall(SYS_pidfd_open, container_pid, 0)));
  if (!container)
    sys_fail("unable to watch process ", container_pid, " (the container's)");
  int self = static_cast<int>(::getpid());
  sys::write_file_atomic(record, cat(self, " ", container::process_start_time(self), "\n"), 0600);
  ::signal(SIGCHLD, SIG_IGN); // connections' processes reap themselves
  if (ready_fd >= 0) {
    (void)!::write(ready_fd, "1", 1);
    ::close(ready_fd);
  }
  std::vector<pollfd> fds;
  for (const auto &[fd, port] : listeners)
    fds.push_back({fd, POLLIN, 0});
  fds.push_back({container.get(), POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      sys_fail("poll");
    }
    if (fds.back().revents) {
      log::debug("proxy: process ", container_pid, " (the container's) ended: exiting");
      // The record goes unless a new proxy of the same container wrote it since.
      auto text = sys::read_file_if_exists(record, 64);
      if (text && text->rfind(cat(self, " "), 0) == 0)
        ::unlink(record.c_str());
      return;
    }
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (!(fds[i].revents & POLLIN))
        continue;
      Fd client(::accept4(listeners[i].first, nullptr, nullptr, SOCK_CLOEXEC));
      if (!client)
        continue;
      log::debug("proxy: a connection for ", target, " port ", listeners[i].second);
      pid_t child = ::fork();
      if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != self)
          ::_exit(0);
        for (const auto &[fd, port] : listeners)
          ::close(fd);
        serve_connection(client.get(), target, listeners[i].second);
        ::_exit(0);
      }
    }
  }
}

} // namespace koker::net
