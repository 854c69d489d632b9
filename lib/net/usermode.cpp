// SPDX-License-Identifier: MIT
#include "net/usermode.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace koker::net::usermode {

namespace {

constexpr const char *tun_path = "/dev/net/tun";
constexpr const char *api_socket = "slirp4netns.sock"; // relative to the container's directory
constexpr const char *pasta_dns = "169.254.1.1";
// Long enough for a loaded machine: the helpers need milliseconds.
constexpr auto ready_timeout = std::chrono::seconds(20);

bool parse_bool(std::string_view v, bool &out) {
  if (v == "true" || v == "false") {
    out = v == "true";
    return true;
  }
  return false;
}

// argv as one line for -D and messages.
std::string command_line(const std::vector<std::string> &argv) {
  std::string s;
  for (const auto &a : argv)
    s += (s.empty() ? "" : " ") + a;
  return s;
}

bool on_path(const std::string &program) {
  for (const auto &dir : text::fields(sys::env("PATH", "/usr/local/bin:/usr/bin:/bin"), ':'))
    if (::access((dir + "/" + program).c_str(), X_OK) == 0)
      return true;
  return false;
}

// The helper's last lines of output, for the message when it fails.
std::string log_tail(const std::string &path) {
  std::string text = sys::read_file_if_exists(path, 1 << 20).value_or("");
  auto lines = text::fields(text, '\n');
  std::string tail;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i)
    tail += (tail.empty() ? "" : "; ") + lines[i];
  return tail.empty() ? "it said nothing (" + path + ")" : tail;
}

// Forks and execs argv (searched on PATH) with stdin /dev/null, stdout and stderr to log_fd,
// pass[i] as descriptor 3+i and no other descriptor, no signal blocked or ignored; in_child
// runs just before the exec and reports failure by returning a message.
pid_t spawn(const std::vector<std::string> &argv, const std::vector<int> &pass, int log_fd,
            const std::function<std::string()> &in_child) {
  Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null)
    sys_fail("unable to open /dev/null");
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    sys_fail("unable to fork ", argv[0]);
  if (pid != 0)
    return pid;
  auto die = [log_fd](const std::string &msg) {
    std::string line = msg + "\n";
    (void)!::write(log_fd, line.data(), line.size());
    ::_exit(127);
  };
  // Out of the way of the slots 0..2+n first, then into them (dup2 clears close-on-exec).
  std::vector<int> high;
  for (int fd : pass)
    high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
  int log_high = ::fcntl(log_fd, F_DUPFD_CLOEXEC, 100);
  if (::dup2(null.get(), 0) < 0 || ::dup2(log_high, 1) < 0 || ::dup2(log_high, 2) < 0)
    die(cat("dup2: ", std::strerror(errno)));
  for (size_t i = 0; i < high.size(); ++i)
    if (high[i] < 0 || ::dup2(high[i], static_cast<int>(3 + i)) < 0)
      die(cat("dup2: ", std::strerror(errno)));
  // Nothing else of koker's: a copy of the container's output pipe here would keep its
  // supervisor waiting for an end of file that never comes.
  ::close_range(static_cast<unsigned>(3 + pass.size()), ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr); // koker-run blocks the signals it relays
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL); // and ignores SIGPIPE, which exec would keep
  std::string why = in_child ? in_child() : "";
  if (!why.empty())
    die(why);
  ::execvp(args[0], args.data());
  die(cat("unable to run ", argv[0], ": ", std::strerror(errno)));
  return -1; // not reached
}

// Reads from fd until want says the bytes are enough, end of file, or the deadline.
// Returns what was read and whether want was met.
std::pair<std::string, bool> read_ready(int fd, const std::function<bool(const std::string &)> &want) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return {got, false};
    struct pollfd p = {fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return {got, false};
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return {got, false};
    got.append(buf, static_cast<size_t>(n));
    if (want(got))
      return {got, true};
  }
}

// Waits up to timeout for child pid to end; true once it is reaped.
bool reap_within(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD))
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// slirp4netns gives the container IPv6 by router advertisement (fd00::/64): the kernel makes
// the address itself, and duplicate address detection would keep it tentative for a second
// or two after the container's process has started. As podman does, the namespace's default
// accept_dad is 0 while slirp4netns makes tap0 (which inherits it; slirp's network holds no
// other host to collide with), then given back. Written by a child that joins the network
// namespace: /proc/sys/net is the opener's namespace's. Returns the value it replaced.
std::string swap_default_accept_dad(pid_t pid, const std::string &value) {
  const char *knob = "/proc/sys/net/ipv6/conf/default/accept_dad";
  int out[2];
  check(::pipe2(out, O_CLOEXEC), "unable to create a pipe");
  Fd out_r(out[0]), out_w(out[1]);
  std::string ns = cat("/proc/", pid, "/ns/net");
  log::debug("setns(", ns, ", NEWNET); write ", knob, " ", value);
  pid_t child = ::fork();
  if (child < 0)
    sys_fail("unable to fork");
  if (child == 0) {
    Fd nsfd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsfd || ::setns(nsfd.get(), CLONE_NEWNET) < 0)
      ::_exit(1);
    std::string old;
    try {
      old = sys::read_file(knob);
      Fd f(::open(knob, O_WRONLY | O_CLOEXEC));
      if (!f)
        ::_exit(1);
      sys::write_fd(f.get(), value, knob);
    } catch (...) {
      ::_exit(1);
    }
    (void)!::write(out_w.get(), old.data(), old.size());
    ::_exit(0);
  }
  out_w.reset();
  std::string old = sys::read_fd(out_r.get(), 64, "accept_dad");
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("unable to set ", knob, " in the network namespace of process ", pid);
  return std::string(text::trim(old));
}

// Waits until tap0 in pid's network namespace has a global IPv6 address that is no longer
// tentative (/proc/PID/net/if_inet6: scope 00, flag 0x40 clear), as IPv4's 10.0.2.100 is there
// before the container's process runs. False after timeout.
bool wait_global_ipv6(pid_t pid, std::chrono::milliseconds timeout) {
  std::string path = cat("/proc/", pid, "/net/if_inet6");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string table;
    try {
      table = sys::read_file(path);
    } catch (const Error &) {
    }
    // "fd000000000000002c3a4bfffe123456 02 40 00 00     tap0": address, index, prefix
    // length, scope, flags, name
    for (const auto &line : text::split(table, '\n')) {
      auto f = text::fields(line, ' ');
      if (f.size() == 6 && f[5] == "tap0" && f[3] == "00" &&
          !(std::stoul(f[4], nullptr, 16) & 0x40))
        return true;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// One request to slirp4netns's API socket (JSON, one request a connection) in the directory
// dir_fd: its answer's "return", or an Error with its "error".
json::Value slirp_api(int dir_fd, const json::Value &request) {
  std::string path = cat("/proc/self/fd/", dir_fd, "/", api_socket);
  std::string body = request.dump();
  log::debug("slirp4netns API ", api_socket, ": ", body);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd sock;
  // slirp4netns writes its ready byte before it binds the socket: a few tries.
  for (int tries = 0;; ++tries) {
    sock = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock)
      sys_fail("unable to create a socket");
    if (::connect(sock.get(), reinterpret_cast<struct sockaddr *>(&addr), sizeof addr) == 0)
      break;
    if ((errno != ENOENT && errno != ECONNREFUSED) || tries == 200)
      sys_fail("unable to connect to the slirp4netns API socket ", api_socket);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  sys::write_fd(sock.get(), body, "the slirp4netns API socket");
  std::string answer = sys::read_fd(sock.get(), 1 << 16, "the slirp4netns API socket");
  log::debug("slirp4netns API answer: ", text::trim(answer));
  json::Value v = json::parse(answer, "the slirp4netns API's answer");
  if (const json::Value *e = v.find("error"))
    fail(e->get_string("desc", e->dump()));
  const json::Value *r = v.find("return");
  return r ? *r : json::Value::object();
}

} // namespace

const char *name(Mode m) { return m == Mode::pasta ? "pasta" : "slirp4netns"; }

bool is_usermode(std::string_view network) {
  for (Mode m : {Mode::slirp4netns, Mode::pasta}) {
    std::string_view n = name(m);
    if (network.substr(0, n.size()) == n && (network.size() == n.size() || network[n.size()] == ':'))
      return true;
  }
  return false;
}

Spec parse(std::string_view network) {
  Spec s;
  size_t colon = network.find(':');
  std::string_view mode = network.substr(0, colon);
  s.mode = mode == "pasta" ? Mode::pasta : Mode::slirp4netns;
  if (!is_usermode(network))
    fail("invalid network mode ", printable(network));
  if (colon == std::string_view::npos)
    return s;
  std::vector<std::string> options = text::split(network.substr(colon + 1), ',');
  if (s.mode == Mode::pasta) {
    // Its own words, as podman passes them on; the ones koker sets are koker's.
    for (const auto &o : options) {
      if (o.empty())
        fail("invalid pasta options ", printable(network), ": an empty word");
      for (const char *own : {"-f", "--foreground", "-P", "--pid", "--netns", "--userns",
                              "--runas", "--netns-only", "--config-net", "-q", "--quiet"})
        if (o == own || o.rfind(std::string(own) + "=", 0) == 0)
          fail("invalid pasta option ", printable(o), ": koker sets it");
    }
    if (options.front()[0] != '-')
      fail("invalid pasta option ", printable(options.front()), ": pasta's options start with -");
    s.pasta_args = options;
    return s;
  }
  for (const auto &o : options) {
    size_t eq = o.find('=');
    std::string key = o.substr(0, eq), value = eq == std::string::npos ? "" : o.substr(eq + 1);
    auto bad = [&](std::string_view why) {
      fail("invalid slirp4netns option ", printable(o), ": ", why);
    };
    if (eq == std::string::npos)
      bad("KEY=VALUE expected");
    if (key == "mtu") {
      auto n = sys::parse_uint(value);
      if (!n || *n < 68 || *n > 65521)
        bad("an MTU from 68 to 65521");
      s.mtu = static_cast<unsigned>(*n);
    } else if (key == "cidr") {
      try {
        s.cidr = parse_subnet(value);
      } catch (const Error &e) {
        bad(e.what());
      }
      if (s.cidr.prefix > 25)
        bad("a prefix of at most /25 (the container takes the .100 address)");
    } else if (key == "allow_host_loopback") {
      if (!parse_bool(value, s.allow_host_loopback))
        bad("true or false");
    } else if (key == "enable_ipv6") {
      if (!parse_bool(value, s.enable_ipv6))
        bad("true or false");
    } else if (key == "outbound_addr") {
      if (!parse_ip(value))
        bad("an IPv4 address");
      s.outbound_addr = value;
    } else {
      bad("known options are mtu, cidr, allow_host_loopback, enable_ipv6, outbound_addr");
    }
  }
  return s;
}

Mode default_mode() { return on_path("slirp4netns") || !on_path("pasta") ? Mode::slirp4netns : Mode::pasta; }

void check_tun() {
  Fd tun(::open(tun_path, O_RDWR | O_CLOEXEC));
  if (tun)
    return;
  int e = errno;
  struct stat st;
  if (::stat(tun_path, &st) < 0)
    fail("cannot open ", tun_path, ": ", std::strerror(e),
         ": user-mode networking needs the tun device (modprobe tun)");
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  fail("cannot open ", tun_path, " (mode ", mode, "): user-mode networking needs it readable and ",
       "writable; on Debian udev makes it 0666");
}

std::string container_address(const Spec &s) {
  return s.mode == Mode::slirp4netns ? ip_string(s.cidr.network + 100) : "";
}

std::string nameserver(const Spec &s) {
  return s.mode == Mode::slirp4netns ? ip_string(s.cidr.network + 3) : pasta_dns;
}

Helper::Helper(Helper &&o) noexcept
    : m_pid(std::exchange(o.m_pid, -1)), m_exit_fd(std::exchange(o.m_exit_fd, -1)),
      m_mode(o.m_mode) {}

Helper &Helper::operator=(Helper &&o) noexcept {
  if (this != &o) {
    stop();
    m_pid = std::exchange(o.m_pid, -1);
    m_exit_fd = std::exchange(o.m_exit_fd, -1);
    m_mode = o.m_mode;
  }
  return *this;
}

void Helper::stop() {
  if (m_exit_fd >= 0) {
    log::debug("close the exit pipe of ", name(m_mode), " ", m_pid, " (--exit-fd: it ends)");
    ::close(m_exit_fd);
    m_exit_fd = -1;
  }
  if (m_pid <= 0)
    return;
  using std::chrono::milliseconds;
  if (m_mode == Mode::slirp4netns && reap_within(m_pid, milliseconds(1000))) {
    m_pid = -1;
    return;
  }
  log::debug("kill ", m_pid, " SIGTERM (", name(m_mode), ")");
  ::kill(m_pid, SIGTERM);
  if (!reap_within(m_pid, milliseconds(1000))) {
    log::debug("kill ", m_pid, " SIGKILL (", name(m_mode), ")");
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  m_pid = -1;
}

Helper start(const Spec &s, pid_t pid, const std::vector<Port> &ports, const std::string &dir) {
  check_tun();
  const char *helper = name(s.mode);
  std::string log_path = dir + "/" + helper + ".log";
  Fd log_fd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd)
    sys_fail("unable to open ", log_path);
  Fd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd)
    sys_fail("unable to open ", dir);
  int ready[2];
  check(::pipe2(ready, O_CLOEXEC), "unable to create a pipe");
  Fd ready_r(ready[0]), ready_w(ready[1]);
  Helper h;
  h.m_mode = s.mode;
  std::vector<std::string> argv;
  std::function<std::string()> in_child;
  std::vector<int> pass = {ready_w.get()}; // descriptor 3 in the helper
  Fd exit_r;
  pid_t parent = ::getpid();
  if (s.mode == Mode::slirp4netns) {
    int exit_pipe[2];
    check(::pipe2(exit_pipe, O_CLOEXEC), "unable to create a pipe");
    exit_r = Fd(exit_pipe[0]);
    h.m_exit_fd = exit_pipe[1]; // closed with h, or by the kernel when this process dies
    pass.push_back(exit_r.get()); // descriptor 4
    argv = {"slirp4netns", "--configure", cat("--mtu=", s.mtu), "--enable-sandbox",
            "--enable-seccomp", "--ready-fd=3", "--exit-fd=4", cat("--api-socket=", api_socket)};
    if (!s.allow_host_loopback)
      argv.push_back("--disable-host-loopback");
    if (s.cidr.network != 0x0a000200 || s.cidr.prefix != 24)
      argv.push_back("--cidr=" + s.cidr.str());
    if (s.enable_ipv6)
      argv.push_back("--enable-ipv6");
    if (!s.outbound_addr.empty())
      argv.push_back("--outbound-addr=" + s.outbound_addr);
    argv.push_back(std::to_string(pid));
    argv.push_back("tap0");
    // The API socket's path is relative: a container directory's full path may be longer
    // than a socket address holds (108 bytes).
    in_child = [dir]() -> std::string {
      return ::chdir(dir.c_str()) < 0 ? cat("chdir ", dir, ": ", std::strerror(errno)) : "";
    };
  } else {
    argv = {"pasta", "--config-net", "--foreground", "--quiet", "--pid", "/proc/self/fd/3"};
    bool tcp = false, udp = false, tcp_ns = false, udp_ns = false, dns = false;
    for (const auto &p : ports) {
      bool is_udp = p.proto == "udp";
      (is_udp ? udp : tcp) = true;
      argv.push_back(is_udp ? "-u" : "-t");
      argv.push_back(cat(p.host_ip == "0.0.0.0" ? "" : p.host_ip + "/", p.host_port, ":", p.port));
    }
    for (const auto &a : s.pasta_args) {
      tcp |= a == "-t" || a == "--tcp-ports";
      udp |= a == "-u" || a == "--udp-ports";
      tcp_ns |= a == "-T" || a == "--tcp-ns";
      udp_ns |= a == "-U" || a == "--udp-ns";
      dns |= a == "-D" || a == "--dns" || a == "--dns-forward";
    }
    argv.insert(argv.end(), s.pasta_args.begin(), s.pasta_args.end());
    // podman's defaults: no port forwarded but the published ones, the gateway not mapped to
    // the host (as slirp4netns's --disable-host-loopback), DNS through a fixed address.
    for (auto [given, option] : {std::pair{tcp, "-t"}, {udp, "-u"}, {tcp_ns, "-T"}, {udp_ns, "-U"}})
      if (!given) {
        argv.push_back(option);
        argv.push_back("none");
      }
    argv.push_back("--no-map-gw");
    if (!dns) {
      argv.push_back("--dns-forward");
      argv.push_back(pasta_dns);
    }
    if (::geteuid() == 0) {
      // As root pasta drops its capabilities before it joins a namespace given by PID (it
      // can then no longer open /proc/PID/ns/*) and, as nobody, cannot join one at all: it
      // gets a bind mount of the namespace, made in a mount namespace of its own (nothing
      // on the host to undo), and stays uid 0 (its capabilities dropped and in its seccomp
      // sandbox all the same).
      argv.insert(argv.end(), {"--runas", "0", "--netns", "/tmp/netns"});
      in_child = [pid, parent]() -> std::string {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent)
          return "koker is gone";
        std::string ns = cat("/proc/", pid, "/ns/net");
        if (::unshare(CLONE_NEWNS) < 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
            ::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0700") < 0)
          return cat("a mount namespace for the bind of ", ns, ": ", std::strerror(errno));
        Fd f(::open("/tmp/netns", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!f || ::mount(ns.c_str(), "/tmp/netns", nullptr, MS_BIND, nullptr) < 0)
          return cat("bind mount ", ns, ": ", std::strerror(errno));
        return "";
      };
    } else {
      // An unprivileged user's pasta joins the container's user and network namespaces.
      argv.push_back(std::to_string(pid));
      in_child = [parent]() -> std::string {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent)
          return "koker is gone";
        return "";
      };
    }
  }
  std::string accept_dad;
  if (s.mode == Mode::slirp4netns && s.enable_ipv6)
    accept_dad = swap_default_accept_dad(pid, "0");
  log::debug(command_line(argv), " (its output: ", log_path, ")");
  h.m_pid = spawn(argv, pass, log_fd.get(), in_child);
  ready_w.reset();
  exit_r.reset();
  // slirp4netns writes "1" to its ready fd once tap0 is configured; pasta writes its PID and
  // a newline to its PID file once its tap is up with the address and routes.
  auto [got, ok] = read_ready(ready_r.get(), [&](const std::string &text) {
    return s.mode == Mode::slirp4netns ? !text.empty() : text.find('\n') != std::string::npos;
  });
  if (!ok) {
    h.stop();
    fail(helper, " did not set up the network of container ", dir.substr(dir.rfind('/') + 1, 12),
         ": ", log_tail(log_path));
  }
  log::debug(helper, " ", h.m_pid, " is ready");
  if (s.mode == Mode::slirp4netns && s.enable_ipv6) {
    bool v6 = wait_global_ipv6(pid, std::chrono::seconds(5));
    swap_default_accept_dad(pid, accept_dad);
    if (!v6) {
      h.stop();
      fail("slirp4netns gave container ", dir.substr(dir.rfind('/') + 1, 12),
           " no IPv6 address on tap0 within 5 s");
    }
    log::debug("tap0 has its IPv6 address (router advertisement of fd00::/64)");
  }
  if (s.mode == Mode::slirp4netns)
    for (const auto &p : ports) {
      json::Value args = json::Value::object();
      args.set("proto", p.proto);
      args.set("host_addr", p.host_ip);
      args.set("host_port", static_cast<int>(p.host_port));
      args.set("guest_addr", container_address(s));
      args.set("guest_port", static_cast<int>(p.port));
      json::Value req = json::Value::object();
      req.set("execute", "add_hostfwd");
      req.set("arguments", std::move(args));
      try {
        slirp_api(dir_fd.get(), req);
      } catch (const Error &e) {
        h.stop();
        fail("unable to publish ", port_string(p), " through slirp4netns: ", e.what());
      }
    }
  return h;
}

} // namespace koker::net::usermode
