// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace koker::sys {
class Rollback;
}

namespace koker::cgroup {

// v1: only cgroup v1 controllers; hybrid: v1 controllers plus a cgroup2 tree without them;
// v2: one unified cgroup2 tree.
enum class Mode { v1, hybrid, v2 };

// One hierarchy: where it is mounted, which of koker's controllers (memory, cpu, cpuacct,
// pids, devices, freezer; v2: memory, pids, cpu) it holds, and which others runc knows
// (cpuset, blkio, hugetlb, net_cls, ...; v2: cpuset, io, hugetlb, ...), which only an OCI
// container's group uses (Group::resolve). Hybrid's unified tree holds none.
struct Hierarchy {
  std::string mount;
  std::vector<std::string> controllers;
  bool unified = false;
  std::vector<std::string> extra;
  std::string root = "/"; // the group mounted there (mountinfo's root), "/" but in a cgroupns
};

// What the host offers. fake: the tree under KOKER_CGROUP_ROOT (tests), where a file written
// is created if missing, no process is ever signalled, and the caller's own group is the root.
struct Host {
  Mode mode = Mode::v2;
  bool fake = false;
  std::vector<Hierarchy> hierarchies;
  // Rootless on v2: the subtree delegated to the user (user@UID.service), which then is the
  // one hierarchy, as if mounted there; empty when none is (docs/rootless.md "Limits").
  std::string delegated;
};

// The host's cgroups: from the shape of KOKER_CGROUP_ROOT when it is set (a directory holding
// cgroup.controllers is v2; else its subdirectories, named after their controllers as in
// "cpu,cpuacct", are v1 hierarchies and one holding cgroup.controllers is the unified tree),
// else from /proc/self/mountinfo. Throws when no usable hierarchy is found. For a caller who
// is not root (base/rootless.hpp) on v2, the delegated subtree only, when there is one.
Host probe();
// probe().mode.
Mode detect();
// "v1", "hybrid" or "v2".
std::string mode_name(Mode mode);
// Where a caller who is not root gets its groups: "delegated v2 subtree PATH (controllers:
// memory pids cpu)" or "no delegated cgroup (limits not applied)" (koker-cg mode, info).
std::string delegation_text(const Host &host);

// Resource limits; an unset member is left as it is.
struct Limits {
  std::optional<uint64_t> memory;    // bytes
  std::optional<uint64_t> swap;      // bytes of swap on top of memory; UNLIMITED: no limit
  std::optional<uint64_t> nano_cpus; // CPUs x 10^9, docker's NanoCpus (0.5 CPU: 500000000)
  std::optional<uint64_t> pids;      // pids.max
  // Devices allowed beyond the defaults, as v1's devices.allow takes them: "c 10:229 rwm", or
  // "a" for every one (--privileged). v2 has no file for them (no eBPF program is loaded).
  std::vector<std::string> allow_devices;
  bool empty() const { return !memory && !swap && !nano_cpus && !pids; }
};

// The CFS period koker writes (the kernel's default, as docker uses): 100 ms.
constexpr uint64_t CFS_PERIOD_US = 100000;
// The smallest memory limit, as docker's: 6 MiB.
constexpr uint64_t MIN_MEMORY = 6 << 20;
// The largest pids.max the kernel takes (PID_MAX_LIMIT).
constexpr uint64_t MAX_PIDS = 4194304;
// Stats value for "no limit".
constexpr uint64_t UNLIMITED = UINT64_MAX;

// docker's RAMInBytes: a decimal number, an optional space and an optional unit b, k, m, g, t
// or p (any case, powers of 1024, "i" and "b" allowed after it: "512m", "1.5GiB", "64 MB").
// Throws Error when it is malformed, negative, zero or above 2^63-1 bytes.
uint64_t parse_size(std::string_view text);
// A whole number of MiB as bytes (--mem, --swap); zero is refused unless allow_zero.
uint64_t parse_mib(std::string_view text, bool allow_zero = false);
// A fractional CPU count ("0.5", "2", at most 9 decimals) as nano CPUs, in the range docker
// allows: 0.01 to the number of CPUs this process may run on.
uint64_t parse_cpus(std::string_view text, unsigned host_cpus);
// A pids.max value from 1 to MAX_PIDS.
uint64_t parse_pids(std::string_view text);
// The CPUs this process may run on (sched_getaffinity), as docker counts them.
unsigned host_cpus();
// Sets the limit named by a command-line option ("--mem", "-m", "--memory", "--swap",
// "--cpus", "--pids", "--pids-limit") from its value. Throws Error("invalid --memory value
// '12q': ...") on a bad value, an unknown option is a logic error (std::invalid_argument).
void parse_limit_option(Limits &limits, std::string_view option, std::string_view value);
// Checks limits as a whole: --swap needs a memory limit, memory plus swap must fit in 63 bits.
void check_limits(const Limits &limits);

// One rule of the v1 devices controller (runtime-spec linux.resources.devices).
struct DeviceRule {
  bool allow = false;
  std::string type = "a";              // "a", "c", "b"
  std::optional<int64_t> major, minor; // none: any ("*")
  std::string access = "rwm";
  // As devices.allow and devices.deny take it: "c 1:3 rwm", "a *:* rwm".
  std::string line() const;
};
struct WeightDevice { // blkio.weight_device, blkio.leaf_weight_device
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};
struct ThrottleDevice { // blkio.throttle.*_device: bytes or operations a second
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};
struct HugepageLimit { // hugetlb.<page_size>.limit_in_bytes
  std::string page_size; // "2MB", "1GB"
  uint64_t limit = 0;
};
struct InterfacePriority { // a line of net_prio.ifpriomap
  std::string name;
  uint32_t priority = 0;
};

// The runtime-spec's linux.resources (its Linux chapter, "Control groups"), the members runc 1.1
// writes, in v1's terms: memory_swap is memory plus swap (memory.memsw.limit_in_bytes) and v2
// converts it. As in runc, a number 0 means "leave it as it is" and -1 "no limit".
struct Resources {
  std::optional<int64_t> memory_limit, memory_reservation, memory_swap, memory_kernel,
      memory_kernel_tcp;
  std::optional<uint64_t> memory_swappiness; // 0 to 100; -1 (2^64-1): the kernel's default
  std::optional<bool> disable_oom_killer;
  std::optional<uint64_t> cpu_shares, cpu_period, cpu_rt_period;
  std::optional<int64_t> cpu_quota, cpu_rt_runtime;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> pids_limit;
  std::optional<uint16_t> blkio_weight, blkio_leaf_weight;
  std::vector<WeightDevice> blkio_weight_device;
  std::vector<ThrottleDevice> blkio_throttle_read_bps, blkio_throttle_write_bps,
      blkio_throttle_read_iops, blkio_throttle_write_iops;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<uint32_t> net_cls_classid;
  std::vector<InterfacePriority> net_prio_ifpriomap;
  // Written after "a" to devices.deny, one rule a write, in this order; empty: the rules are
  // left as they are (an update).
  std::vector<DeviceRule> devices;
  std::map<std::string, std::string> unified; // cgroup v2 files and values, as given
};

// Where an OCI container's group goes (the runtime-spec's Linux chapter, "Cgroups path"): the
// same inner path in every hierarchy, from one of three bases.
enum class Base {
  root, // an absolute cgroupsPath: from each hierarchy's root
  own,  // a relative one: under the caller's own group in each hierarchy (runc's rule)
  init, // systemd's form: under pid 1's group, where systemd names its slices
};
struct Place {
  Base base = Base::root;
  std::string path; // "a/b/c": checked components, no leading "/"
};
// A cgroupsPath in cgroupfs form: "/a/b" (Base::root), "a/b" (Base::own); "" is ID under the
// caller's own group, as runc does. Empty and "." components are dropped; "..", a control
// character and a path naming the root itself are refused (Error naming the path).
Place parse_path(std::string_view cgroups_path, std::string_view id);
// A cgroupsPath in systemd's form "slice:prefix:name" (runc's --systemd-cgroup): the path
// systemd gives the unit, under Base::init: the slice expanded (expand_slice; "" is
// system.slice), then "prefix-name.scope", or name itself when it ends in ".slice". "" is
// system.slice:koker:ID. Throws Error on another form or a bad slice name.
Place parse_systemd_path(std::string_view cgroups_path, std::string_view id);
// systemd's slice naming (systemd.slice(5)): "a-b.slice" is "a.slice/a-b.slice", "-.slice"
// the root (""). Throws Error("invalid slice name: ...") for a name without ".slice", with
// "/", or with an empty part ("a--b.slice", "-a.slice").
std::string expand_slice(std::string_view slice);

// A name koker can use as a directory: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters,
// no "..".
bool valid_name(std::string_view name);
// Throws Error("invalid cgroup name ...") unless valid_name.
void check_name(std::string_view name);

// One group's usage; a member is empty when the host does not report it.
struct Stats {
  std::optional<uint64_t> memory_usage; // bytes, page cache (inactive_file) excluded as docker
  std::optional<uint64_t> memory_limit; // bytes or UNLIMITED
  std::optional<uint64_t> cpu_usage_ns;
  std::optional<uint64_t> pids_current;
  std::optional<uint64_t> pids_limit; // or UNLIMITED
  std::optional<uint64_t> oom_kills;
};

// What a process about to be cloned (runtime/clone.hpp) needs to enter a group without anyone writing its pid to
// cgroup.procs. Such a write takes the kernel's global cgroup_threadgroup_rwsem, and on a host
// without favordynmods that waits for an RCU grace period (5-15 ms). Instead the unified tree
// places the child at clone3(CLONE_INTO_CGROUP), and the child joins each v1 hierarchy itself
// by writing "0" to tasks: a thread moving only itself takes no global lock (cgroup-v1.rst,
// kernel/cgroup/cgroup.c cgroup_procs_write_start).
struct Seed {
  Fd unified; // koker/NAME in the unified tree, for CLONE_INTO_CGROUP; none without one
  std::string unified_path;
  std::vector<std::pair<Fd, std::string>> v1_parents; // each v1 koker/ (O_PATH), its path
  bool fake = false;
};

// In the cloned child, still single-threaded: joins koker/NAME in each v1 hierarchy through
// the seed's directories. Throws on a refused write.
void join_self(const Seed &seed, std::string_view name);
// Moves pid into the seed's unified group, through the directory it holds open, so it works
// from any mount namespace (koker-exec has joined the container's by then): for a child that
// clone3 could not place. Nothing without a unified group.
void place_unified(const Seed &seed, pid_t pid);

// koker/NAME in every hierarchy koker uses. Every file written and every mkdir/rmdir is
// logged at debug level first.
class Group {
public:
  // Makes koker/NAME in each hierarchy (and the koker parent when missing; on v2 it enables
  // memory, pids and cpu in the parents' cgroup.subtree_control), applies the device rules
  // (v1 devices controller) and the limits. Throws if the group exists, a needed controller is
  // missing or any step fails; the directories made so far are removed first.
  static Group create(std::string_view name, const Limits &limits);
  // create() for a container, in two steps around clone(2). prepare: checks, makes the koker
  // parents and, in a unified tree, koker/NAME (v2: with its controllers) and fills seed; the
  // group leaves out the v1 hierarchies a container has no use for (cpu without a CPU limit,
  // freezer when the unified tree has cgroup.kill). create_v1 (after the clone): koker/NAME in
  // the v1 hierarchies, device rules and limits. On failure of either, remove(true) takes away
  // what was made.
  static Group prepare(std::string_view name, const Limits &limits, Seed &seed);
  void create_v1(const Limits &limits);
  // Moves pid into the unified tree only (when clone3 could not place it there).
  void add_unified(pid_t pid);
  // A seed for another process to join this existing group (koker-exec).
  Seed seed() const;
  // The group if koker/NAME exists in any hierarchy; only the hierarchies holding it are used.
  // delegated: the subtree a rootless container's group was made in (delegated(), kept in
  // its record), looked in while the user still owns it; "" (and for root): probe()'s.
  static std::optional<Group> open(std::string_view name, const std::string &delegated = "");
  // Rootless on v2: the delegated subtree the group is in (Host::delegated); "" otherwise.
  const std::string &delegated() const { return m_host.delegated; }

  // An OCI container's group, at place, in three steps around clone(2). resolve: where it
  // goes, nothing made yet; paths(), spare() and made() say so, to be recorded before
  // anything is made. name (the cgroupsPath, for messages) and place are checked, and r
  // against the host's controllers: a value for one not mounted is an Error, as runc's.
  // Like koker-run's group it leaves out the v1 hierarchies it has no use for: those of cpu,
  // cpuset, blkio, hugetlb, net_cls, net_prio, perf_event, rdma and misc unless r sets
  // something there (a cpuset group alone costs an RCU grace period at mkdir); it keeps
  // memory, pids, devices, cpuacct and freezer, and the unified tree. A caller's own group
  // outside the mount is refused.
  static Group resolve(std::string name, const Place &place, const Resources &r);
  // Refuses an existing group with processes; makes the missing parents in each hierarchy
  // (v1 cpuset: with their parent's CPUs and memory nodes; v2: every controller handed down)
  // and the group in the unified tree, and fills seed. An existing empty group is joined, as
  // runc's mkdir -p does. On failure what it made is removed.
  void prepare(Seed &seed);
  // After the clone: the group in each v1 hierarchy, then r (Group::apply). On failure,
  // remove(true) takes away what was made.
  void create_v1(const Resources &r);
  // The OCI group recorded at create: the directories in dirs that still exist, the parents
  // made, and where it would go in the other hierarchies (spare). None when nothing of it
  // exists.
  static std::optional<Group> open_dirs(std::string name, const std::vector<std::string> &dirs,
                                        std::vector<std::string> made,
                                        const std::vector<std::string> &spare);
  // Writes every value r sets (0 leaves one as it is), hierarchy by hierarchy in runc's
  // order: v1 cpuset, devices (after "a" to devices.deny, r.devices one a write), memory
  // (memsw kept >= memory), kmem, soft limit, OOM killer, swappiness, cpu shares (read back),
  // CFS period and quota, RT period and runtime, pids, blkio, hugetlb, net_cls, net_prio; v2
  // the same in its files. Throws on a missing controller or a refused write.
  void apply(const Resources &r);
  // For an update: joins the spare hierarchies r needs (its group made there, every process
  // moved in while the group is frozen, so that none forks past the move). True when it
  // joined one, and paths() and made() have changed.
  bool extend(const Resources &r);
  // The same for a koker container's limits (koker-update): a CPU limit on a container
  // started without one needs the cpu hierarchy it was left out of.
  bool extend(const Limits &l);
  // The group's own directory name, the same in every hierarchy: what join_self opens.
  std::string leaf() const;
  // The parents resolve() found missing, shallowest first: made by prepare(), removed by
  // remove() when they are empty again.
  const std::vector<std::string> &made() const { return m_made; }
  // Where the group would go in the hierarchies it leaves out.
  std::vector<std::string> spare() const;

  const std::string &name() const { return m_name; }
  Mode mode() const { return m_host.mode; }
  // Writes the limits (v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes,
  // cpu.cfs_period_us, cpu.cfs_quota_us, pids.max; v2: memory.max, memory.swap.max, cpu.max,
  // pids.max). A memory limit without --swap allows as much swap as memory (docker's
  // default). Throws on a missing controller or a refused write.
  void set(const Limits &limits);
  // Moves pid into the group in every hierarchy, hybrid's unified tree included (so kill and
  // populated see it there too). Throws on the first refused write.
  void add(pid_t pid);
  Stats stats() const;
  // The processes in the group (the union over its hierarchies).
  std::vector<pid_t> pids() const;
  bool populated() const;
  // Sends sig to every process of the group: v2 or hybrid SIGKILL through cgroup.kill when
  // present; else freezes the group (freezer.state / cgroup.freeze) so nothing forks,
  // signals each pid in cgroup.procs and thaws, until it is empty (SIGKILL) or once (other
  // signals). Never signals pid 1 or itself; does nothing under a fake root.
  void kill_all(int sig);
  // Freezes (or thaws) every process of the group and waits until the kernel says it is done:
  // the v1 freezer, else the unified tree's cgroup.freeze. Throws when the group has neither
  // or the kernel does not finish in time.
  void freeze(bool frozen);
  // True while the group is frozen.
  bool frozen() const;
  // Removes the group's directories. A populated group is refused (Error) unless force, which
  // kills its processes first. Then the parents in made(), deepest first, each only if empty.
  void remove(bool force);
  // The group's directories, one per hierarchy.
  std::vector<std::string> paths() const;

private:
  // koker/NAME in every hierarchy of host.
  Group(std::string name, Host host);
  // The group create() and prepare() start from: name and limits checked, the host probed,
  // the controllers the limits need present, koker/NAME made nowhere yet.
  static Group checked(std::string_view name, const Limits &limits);
  // Makes koker/NAME in h (removed again by undo, if given) with its device rules.
  std::string make_in(const Hierarchy &h, sys::Rollback *undo) const;
  // The directory of h a process about to join needs: koker/NAME in the unified tree (for
  // clone3), koker/ in a v1 hierarchy (to open NAME/tasks from).
  void add_to_seed(Seed &seed, const Hierarchy &h) const;
  std::string dir(const Hierarchy &h) const;
  // extend()'s work: joins the spare hierarchies want picks.
  bool join_spare(const std::function<bool(const Hierarchy &)> &want);
  // The missing directories above d in h (recorded in m_made, removed by undo if given), each
  // handed the controllers it needs (v2), then each parent's.
  void make_parents(const Hierarchy &h, const std::string &d, sys::Rollback *undo);

  std::string m_name;
  Host m_host;                               // only the hierarchies this group uses
  std::map<std::string, std::string> m_dirs; // the group's directory, by hierarchy mount
  std::vector<std::string> m_made;           // parents to remove with the group
  std::vector<std::pair<Hierarchy, std::string>> m_spare; // left out: where it would go
  bool m_remove_spare = false; // a koker container's group: remove() takes spare dirs too
};

// The names of the groups under koker/ in any hierarchy, sorted.
std::vector<std::string> list();

} // namespace koker::cgroup
