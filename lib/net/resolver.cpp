// SPDX-License-Identifier: MIT
// A user-defined network's resolver (resolver.hpp): the table from the store, the server
// loop, forwarding to upstream resolvers, and starting and stopping the process.
#include "net/resolver.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/detail.hpp"
#include "net/dns.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace koker::net {

namespace {

// Answers are the store's state at the time of the query: no cache downstream either.
constexpr uint32_t answer_ttl = 0;
constexpr int forward_timeout_ms = 2000;

struct Upstream {
  uint32_t ip = 0;
  uint16_t port = 53;
};

// "IP" or "IP:PORT"; nothing for anything else (IPv6 upstreams are not used).
std::optional<Upstream> parse_upstream(std::string_view text) {
  size_t colon = text.find(':');
  auto ip = parse_ip(text.substr(0, colon));
  if (!ip)
    return std::nullopt;
  Upstream u{*ip, 53};
  if (colon != std::string_view::npos) {
    auto port = sys::parse_uint(text.substr(colon + 1));
    if (!port || *port == 0 || *port > 65535)
      return std::nullopt;
    u.port = static_cast<uint16_t>(*port);
  }
  return u;
}

// Where names outside the table go: the querier's --dns, else KOKER_DNS_UPSTREAM (IP[:PORT],
// comma-separated), else the host's nameservers; never this resolver itself.
std::vector<Upstream> upstreams(const std::vector<std::string> &dns, uint32_t self) {
  std::vector<std::string> texts = dns;
  if (texts.empty()) {
    std::string env = sys::env("KOKER_DNS_UPSTREAM", "");
    if (!env.empty()) {
      texts = text::split(env, ',');
    } else {
      std::string conf = sys::read_file_if_exists("/etc/resolv.conf", 64 << 10).value_or("");
      for (const auto &line : text::split(conf, '\n')) {
        auto words = text::fields(line, ' ');
        if (words.size() >= 2 && words[0] == "nameserver")
          texts.push_back(words[1]);
      }
    }
  }
  std::vector<Upstream> out;
  for (const auto &t : texts)
    if (auto u = parse_upstream(text::trim(t)); u && u->ip != self)
      out.push_back(*u);
  return out;
}

// The upstreams' reply to query, the first that comes; nothing when none does.
std::optional<std::string> forward(std::string_view query, const std::vector<Upstream> &to) {
  for (const auto &u : to) {
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s)
      continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(u.port);
    a.sin_addr.s_addr = htonl(u.ip);
    log::debug("dns: forwarding to ", ip_string(u.ip), ":", u.port);
    if (::connect(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 ||
        ::send(s.get(), query.data(), query.size(), 0) < 0)
      continue;
    pollfd p{s.get(), POLLIN, 0};
    if (::poll(&p, 1, forward_timeout_ms) <= 0)
      continue;
    char buf[4096];
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n >= 12 && std::memcmp(buf, query.data(), 2) == 0)
      return std::string(buf, static_cast<size_t>(n));
  }
  return std::nullopt;
}

// The container that holds the lease at ip on n and still runs, if any.
std::optional<container::Record> holder(const Network &n, const std::string &ip) {
  auto r = detail::read_lease(n, ip);
  if (!r || !detail::in_use(n.root, *r))
    return std::nullopt;
  try {
    return container::load(n.root, r->lease.id);
  } catch (const Error &) {
    return std::nullopt;
  }
}

// True when name is one of c's names on network net: its name, its short ID, an alias it has
// there, each also as NAME.NETWORK (docker's).
bool names(const container::Record &c, const std::string &net, const std::string &name) {
  std::vector<std::string> all = {c.name, c.id.substr(0, 12)};
  for (const auto &e : c.networks)
    if (e.network == net)
      all.insert(all.end(), e.aliases.begin(), e.aliases.end());
  for (const auto &n : all)
    if (!n.empty() && (text::lower(n) == name || text::lower(n) + "." + text::lower(net) == name))
      return true;
  return false;
}

std::string pid_path(const Network &n) { return n.dir() + "/dns.pid"; }
std::string lock_path(const Network &n) { return n.dir() + "/dns.lock"; }

// The querier's --dns (for forwarding), when it is a container of r.
std::vector<std::string> querier_dns(const Network &n, uint32_t source) {
  auto c = holder(n, ip_string(source));
  return c ? c->dns : std::vector<std::string>{};
}

void handle(const std::string &root, const NetworkRecord &r, const Network &n, int sock,
            std::string_view msg, const sockaddr_in &from) {
  uint32_t source = ntohl(from.sin_addr.s_addr);
  auto q = dns::parse_query(msg);
  std::string reply;
  if (!q) {
    reply = dns::error_reply(msg, nullptr, dns::rcode_formerr);
  } else {
    std::vector<uint32_t> found;
    if (q->klass == dns::class_in)
      found = resolve_name(root, r, source, q->name);
    log::debug("dns: ", ip_string(source), " asks ", q->name, " type ", q->type, ": ", found.size(),
               " address(es) in the table");
    if (!found.empty()) {
      // A name of the table has no other record: AAAA and the rest get "no data".
      reply = dns::answer(msg, *q, q->type == dns::type_a ? found : std::vector<uint32_t>{},
                          answer_ttl);
    } else if (auto up = forward(msg, upstreams(querier_dns(n, source), n.gw()))) {
      reply = *up;
    } else {
      reply = dns::error_reply(msg, &*q, dns::rcode_servfail);
    }
  }
  if (!reply.empty())
    ::sendto(sock, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr *>(&from),
             sizeof from);
}

} // namespace

std::vector<uint32_t> resolve_name(const std::string &root, const NetworkRecord &r, uint32_t source,
                                   const std::string &name) {
  Network self = network_of(root, r);
  std::vector<std::string> order = {r.name};
  if (auto q = holder(self, ip_string(source)))
    for (const auto &e : q->networks)
      if (std::find(order.begin(), order.end(), e.network) == order.end())
        order.push_back(e.network);
  for (const auto &net_name : order) {
    std::optional<NetworkRecord> rec = net_name == r.name ? r : find_network(root, net_name);
    if (!rec)
      continue;
    Network n = network_of(root, *rec);
    std::vector<uint32_t> found;
    for (const auto &ip : detail::lease_ips(n))
      if (auto c = holder(n, ip); c && names(*c, rec->name, name))
        found.push_back(*parse_ip(ip));
    if (!found.empty())
      return found;
  }
  return {};
}

void serve_resolver(const std::string &root, const NetworkRecord &r, int ready_fd) {
  Network n = network_of(root, r);
  auto ready = [&] {
    if (ready_fd >= 0) {
      (void)!::write(ready_fd, "1", 1);
      ::close(ready_fd);
      ready_fd = -1;
    }
  };
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock)
    sys_fail("unable to open a UDP socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  a.sin_addr.s_addr = htonl(n.gw());
  log::debug("dns: bind ", ip_string(n.gw()), ":53/udp (network ", r.name, ")");
  if (::bind(sock.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0) {
    if (errno == EADDRINUSE) { // another resolver of the network answers already
      ready();
      return;
    }
    sys_fail("unable to listen on ", ip_string(n.gw()), ":53 for network ", r.name);
  }
  // Held while this process answers: ensure_resolver and stop_resolver look at it.
  sys::FileLock running(lock_path(n), sys::FileLock::Mode::exclusive);
  sys::write_file_atomic(pid_path(n),
                         cat(::getpid(), " ", container::process_start_time(::getpid()), "\n"),
                         0600, false);
  ::signal(SIGPIPE, SIG_IGN);
  ready();
  // From now on messages go to dns.log: the tool that started this one has gone.
  Fd logfd(::open((n.dir() + "/dns.log").c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (logfd)
    ::dup2(logfd.get(), 2);
  auto last_check = std::chrono::steady_clock::now();
  for (;;) {
    pollfd p{sock.get(), POLLIN, 0};
    int ready_count = ::poll(&p, 1, 1000);
    if (ready_count > 0) {
      char buf[4096];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t got =
          ::recvfrom(sock.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &len);
      if (got > 0)
        try {
          handle(root, r, n, sock.get(), std::string_view(buf, static_cast<size_t>(got)), from);
        } catch (const std::exception &e) {
          log::warn("dns: ", e.what());
        }
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_check < std::chrono::seconds(1))
      continue;
    last_check = now;
    // The end, decided under the network's lease lock: an attach that reserves after this
    // starts a new resolver, as it finds dns.lock free (it is released before that lock).
    sys::FileLock leases(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
    auto still = find_network(root, r.name);
    if (still && still->id == r.id && network_in_use(n))
      continue;
    log::debug("dns: no container uses network ", r.name, " any more: exiting");
    ::unlink(pid_path(n).c_str());
    running.unlock();
    return;
  }
}

void ensure_resolver(const std::string &root, const NetworkRecord &r) {
  Network n = network_of(root, r);
  try {
    sys::FileLock leases(n.dir() + "/lock", sys::FileLock::Mode::exclusive);
    {
      sys::FileLock probe(lock_path(n), sys::FileLock::Mode::exclusive, false);
      if (!probe.held())
        return; // it runs
    }
    log::debug("koker-net dns ", r.name, " (the network's resolver, in the background)");
    if (!detail::start_background({"koker-net", "--root", root, "dns", r.name}, "KOKER_DNS_READY_FD",
                                  {}, ""))
      log::warn("the resolver of network ", r.name, " did not start: containers on it resolve ",
                "no names (see ", n.dir(), "/dns.log)");
  } catch (const std::exception &e) {
    log::warn("unable to start the resolver of network ", r.name, ": ", e.what());
  }
}

void stop_resolver(const Network &n) {
  auto text = sys::read_file_if_exists(pid_path(n), 64);
  if (!text)
    return;
  auto w = text::split(text::trim(*text), ' ');
  int pid = static_cast<int>(sys::parse_uint(w[0]).value_or(0));
  uint64_t start = w.size() > 1 ? sys::parse_uint(w[1]).value_or(0) : 0;
  if (pid > 0 && container::process_alive(pid, start)) {
    log::debug("kill -TERM ", pid, " (the resolver on ", n.bridge, ")");
    ::kill(pid, SIGTERM);
    // Released when it ends.
    sys::FileLock wait(lock_path(n), sys::FileLock::Mode::exclusive);
  }
  ::unlink(pid_path(n).c_str());
}

} // namespace koker::net
