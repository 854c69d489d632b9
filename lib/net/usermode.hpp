// SPDX-License-Identifier: MIT
#pragma once
#include "net/address.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

// User-mode networking (--network slirp4netns[:OPTIONS] and --network pasta[:OPTIONS]): a
// helper process outside the container owns a tap device inside its network namespace and
// turns the container's packets into ordinary sockets of the host, so no veth, bridge or
// iptables rule is needed: what an unprivileged user can run (issue 20.4), and root too, as
// podman lets it. docs/networking.md ("User-mode networking") explains the choice of default.
//
// The helper is a child of the process that waits for the container (koker-run in the
// foreground, or the -d supervisor), started once the container's network namespace exists
// and stopped once it exited; it never outlives that process: slirp4netns reads the end of
// an --exit-fd pipe koker holds, pasta gets PR_SET_PDEATHSIG. Its output goes to
// containers/<id>/<helper>.log, shown when it fails to start.
namespace koker::net::usermode {

enum class Mode { slirp4netns, pasta };

// One --network value of a user-mode mode, parsed.
struct Spec {
  Mode mode = Mode::slirp4netns;
  // slirp4netns's options (podman's names): mtu=N, cidr=A.B.C.D/N, allow_host_loopback=BOOL,
  // enable_ipv6=BOOL, outbound_addr=IPv4.
  unsigned mtu = 65520;
  Subnet cidr{0x0a000200, 24}; // 10.0.2.0/24: the container is .100, the host .2, DNS .3
  bool allow_host_loopback = false, enable_ipv6 = false;
  std::string outbound_addr;
  // pasta's: its own command-line words, after koker's (podman: pasta:--opt,value,...).
  std::vector<std::string> pasta_args;
};

// The helpers' names as --network takes them.
const char *name(Mode m);
// True for "slirp4netns", "pasta" and either with ":OPTIONS".
bool is_usermode(std::string_view network);
// The mode and options of a --network value is_usermode() accepts; throws Error naming the
// option that is wrong ("invalid slirp4netns option mtu=x: ...").
Spec parse(std::string_view network);

// The mode a container of an unprivileged user gets by default (the rootless work calls this
// where root gets "bridge"): slirp4netns when it is installed, else pasta. Why (start cost,
// privileges as root, Debian 12's versions): docs/networking.md, "User-mode networking".
Mode default_mode();

// Throws Error with one clear line when this process cannot open /dev/net/tun for reading and
// writing, which both helpers need (a Debian host's udev makes it 0666).
void check_tun();

// The address of the container's interface when the helper fixes it (slirp4netns: the
// CIDR's .100), else empty (pasta copies the host's address).
std::string container_address(const Spec &s);
// The nameserver the container's resolv.conf names: slirp4netns's DNS forwarder (the CIDR's
// .3) or the address pasta forwards to the host's first resolver (169.254.1.1).
std::string nameserver(const Spec &s);

// A running helper, owned by the process that started it: destroying it stops it.
class Helper {
public:
  Helper() = default;
  Helper(Helper &&o) noexcept;
  Helper &operator=(Helper &&o) noexcept;
  Helper(const Helper &) = delete;
  Helper &operator=(const Helper &) = delete;
  ~Helper() { stop(); }
  pid_t pid() const { return m_pid; }
  explicit operator bool() const { return m_pid > 0; }
  // Ends the helper (closing its exit pipe, then SIGTERM, then SIGKILL) and reaps it. Safe to
  // repeat.
  void stop();

private:
  friend Helper start(const Spec &, pid_t, const std::vector<Port> &, const std::string &);
  pid_t m_pid = -1;
  int m_exit_fd = -1; // slirp4netns's --exit-fd pipe: its write end
  Mode m_mode = Mode::slirp4netns;
};

// Starts the helper for the network namespace of process pid (the container's first
// process), waits until it has configured the interface (eth0 up, its address, the default
// route), then publishes ports (slirp4netns: add_hostfwd over its API socket; pasta: -t/-u
// at its start). dir is the container's directory: the API socket and the helper's log go
// there. Throws Error, with the helper's last words, when it fails; nothing is left running.
Helper start(const Spec &s, pid_t pid, const std::vector<Port> &ports, const std::string &dir);

} // namespace koker::net::usermode
