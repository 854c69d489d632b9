// SPDX-License-Identifier: MIT
#pragma once
// The pieces of net.cpp that bridge.cpp shares. net.cpp (addresses, leases, rules,
// release) uses no netlink, so koker-run, which links only it, needs no libmnl and can be a
// static binary; bridge.cpp (the bridge, veths, gc) is the netlink side.
#include "store/container.hpp"
#include "net/net.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::net::detail {

// Up and down change host-wide things (the bridge, iptables, ip_forward) that several stores
// may share: one lock for all of them, on tmpfs like the bridge itself.
// (/run/koker for root, base/rootless.hpp's runtime_dir).
inline std::string host_lock_dir() { return rootless::runtime_dir(); }
// ip_forward as it was before the first koker bridge set it to 1, for the last one's down.
inline std::string forward_file() { return host_lock_dir() + "/ip_forward"; }
inline std::string host_lock() { return host_lock_dir() + "/net.lock"; }
// net.ipv6.conf.all.forwarding as it was before the first network with IPv6 set it to 1, for
// the last koker bridge's down.
inline std::string forward6_file() { return host_lock_dir() + "/ipv6_forwarding"; }

std::string canonical(const std::string &root);
bool valid_bridge_name(std::string_view name);

using Output = sys::Ran;

// Runs tool (iptables or iptables-restore, with -w) with input on its stdin, never through a
// shell; its exit status and output.
Output spawn(const char *tool, const std::vector<std::string> &args, std::string_view input = {});
std::string joined(const std::vector<std::string> &words);
// v6: ip6tables and ip6tables-restore, for a network's IPv6 subnet (the same rules, chains
// and comments as the IPv4 ones, in the IPv6 tables).
Output iptables(const std::vector<std::string> &args, bool v6 = false);
void iptables_restore(const std::string &batch, bool v6 = false);
// iptables_restore() of the nat and the filter lines given, each table only when it has some.
void restore_tables(const std::string &nat, const std::string &filter, bool v6 = false);
std::vector<std::string> list_rules(const std::string &table, const std::string &chain,
                                    bool v6 = false);

// docker's DOCKER-ISOLATION-STAGE-1/2, koker's: FORWARD jumps to stage 1 first of all.
constexpr const char *isolation_stage1 = "KOKER-ISOLATION-STAGE-1";
constexpr const char *isolation_stage2 = "KOKER-ISOLATION-STAGE-2";
// Makes the chains if missing and puts FORWARD's jump to stage 1 at its top (again: the
// ACCEPTs of a bridge made since are inserted above it). Under the host lock.
void ensure_isolation_chains(bool v6 = false);
// Removes the chains and the jump when no bridge has a rule left in them. Under the host lock.
void remove_isolation_chains_if_unused(bool v6 = false);

struct Rule {
  const char *table, *chain;
  bool insert; // at the top (FORWARD: before any DROP another tool added)
  std::vector<std::string> spec;
};

std::vector<Rule> bridge_rules(const Network &n);
// The bridge's IPv6 rules (n.subnet6): NAT66 masquerade out, forwarding, isolation.
std::vector<Rule> bridge_rules6(const Network &n);
bool is_bridge_rule(const Network &n, const std::string &rule);
std::string port_rule(const Network &n, const Lease &l, const Port &p);
// The ip6tables rule for p to l's IPv6 address (p on 0.0.0.0, :: or a host IPv6 address other
// than ::1, which the proxy serves).
std::string port_rule6(const Network &n, const Lease &l, const Port &p);
// Deletes the nat rules of the containers in ids (all but those in keep when ids is empty),
// in iptables and ip6tables.
// v6 false: iptables only (a container without IPv6 address or port has no ip6tables rule,
// and the ip6tables call would cost every stop).
void remove_container_rules(const Network &n, const std::vector<std::string> &ids,
                            const std::vector<std::string> &keep = {}, bool v6 = true);

struct Alias {
  bool koker = false;
  std::string subnet, subnet6, forward, root;
};

Alias parse_alias(const std::string &text);
std::string format_alias(const Network &n, const std::string &forward);
void write_sysctl(const std::string &path, std::string_view value);
// The same, but false when the knob does not exist (a kernel without IPv6).
bool write_sysctl_if_present(const std::string &path, std::string_view value);
std::string read_sysctl(const std::string &path);

// Moves a long-lived process (the resolver, the [::1] proxy) into init's mount namespace when
// the caller has one of its own (a tool that mounted a container's root privately): it must
// not pin those mounts.
void leave_private_mount_namespace();
// Starts `koker-net ARGS...` (args[0] is its name) detached: its own session, reparented to
// init, stdin and stdout /dev/null, stderr to log_path (or the caller's until it is ready, when
// empty), no descriptor of the caller's but those in keep (passed on, close-on-exec cleared),
// in init's mount namespace. It reports ready by writing a byte to the descriptor named in
// the environment variable ready_env. True when it did within 5 seconds.
bool start_background(std::vector<std::string> args, const char *ready_env,
                      const std::vector<int> &keep, const std::string &log_path);

std::string lease_path(const Network &n, std::string_view ip);
std::string port_path(const Network &n, const Port &p);
std::string lease_text(const Lease &l, int pid, uint64_t start);
struct Recorded {
  Lease lease;
  int pid = 0;
  uint64_t pid_start = 0;
};

// A lease or port file's text when its first line names a container (64 hex); nothing when
// the file is missing, unreadable, empty or names none: a write cut short (a full disk, a
// crash) or a hand edit, which holds nothing.
std::optional<std::string> read_owned(const std::string &path);
// The container ID on the first line of a lease or port file (read_owned).
std::optional<std::string> owner_of(const std::string &path);
// Removes path if it names no container (owner_of); true when it is gone, false when it
// names one or cannot be removed (a warning says why).
bool remove_ownerless(const std::string &path);
// The lease at ip; nothing when there is none or its file names no container.
std::optional<Recorded> read_lease(const Network &n, const std::string &ip);
// The lease container id holds on n, if any.
std::optional<Recorded> lease_of(const Network &n, std::string_view id);
// Creates path with O_EXCL, holding text; false if it exists. A failed write removes it.
bool create_excl(const std::string &path, const std::string &text);
// Removes path if its first line is id (a file reused by another container stays).
void unlink_if_owned(const std::string &path, std::string_view id);
std::vector<std::string> lease_ips(const Network &n);
// True when the subnet text (from another bridge's alias) shares addresses with s.
bool overlap(const Subnet &s, const std::string &text);
// True while the container holding a lease may still use it (false for a lease naming no
// container).
bool in_use(const std::string &root, const Recorded &r);

} // namespace koker::net::detail
