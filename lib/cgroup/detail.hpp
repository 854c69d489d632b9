// SPDX-License-Identifier: MIT
#pragma once
// The pieces of lib/cgroup/ its files share, not for use outside cgroup/: reading and
// writing the kernel's files, making and removing group directories, and the manager table
// (crun's, in small): the v1 manager drives the per-controller trees, the v2 manager the
// unified tree.
#include "cgroup/cgroup.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::cgroup::detail {

// The v1 controllers koker uses: limits (memory, cpu, pids), CPU time (cpuacct), device
// rules (devices) and a race-free kill (freezer).
const char *const V1_CONTROLLERS[] = {"memory", "cpu", "cpuacct", "pids", "devices", "freezer"};
// The v2 controllers koker enables, in the order written to cgroup.subtree_control.
const char *const V2_CONTROLLERS[] = {"memory", "pids", "cpu"};
// The other controllers runc 1.1's cgroupfs driver joins (libcontainer/cgroups/fs), which an
// OCI container's group uses too (Hierarchy::extra).
const char *const V1_EXTRA[] = {"cpuset",   "blkio",      "hugetlb", "net_cls",
                                "net_prio", "perf_event", "rdma",    "misc"};
const char *const V2_EXTRA[] = {"cpuset", "io", "hugetlb", "rdma", "misc"};

// koker-run's and koker-cg's view of host: the hierarchies holding one of koker's own
// controllers (and the unified tree), without their extra ones. A group there behaves exactly
// as it did before OCI groups existed.
Host koker_view(Host host);
// For a rootless caller on v2: host with its unified tree cut down to the subtree delegated
// to the user (Host::delegated), the highest group above the caller's own whose cgroup.procs
// and cgroup.subtree_control it owns; host as it is otherwise.
Host rootless_view(Host host);
// For a rootless caller on v2: host cut down to top, a subtree recorded when a container's
// group was made (Group::delegated), while the user still owns it; nothing otherwise. Lets a
// later tool run from outside the subtree (a login session's scope) find the group.
std::optional<Host> recorded_view(Host host, const std::string &top);
// "TOP (controllers: memory pids cpu)", as -D and koker-cg mode say it.
std::string delegation_summary(const std::string &top,
                               const std::vector<std::string> &controllers);
// The host's hierarchies as mounted (KOKER_CGROUP_ROOT or the kernel's), before a rootless
// caller's view; probe() is rootless_view(probe_mounted()). Cached once per process.
Host probe_mounted();
// The caller's own group in h (/proc/self/cgroup), or pid 1's with systemd's "init.scope"
// left out (Base::init), as a directory under h.mount; h.mount itself under a fake root.
// Throws when the group is outside what h.mount shows (another cgroup namespace).
std::string base_dir(const Hierarchy &h, Base base, bool fake);
// One line of /proc/PID/cgroup (cgroups(7)): "ID:CONTROLLERS:PATH"; no controllers for the
// unified tree ("0::PATH"), "name=systemd" for a named v1 hierarchy.
struct Membership {
  std::string id;
  std::vector<std::string> controllers;
  std::string path;
};
// The lines of file (/proc/self/cgroup, /proc/1/cgroup), read once per process: neither
// process moves while a tool looks.
const std::vector<Membership> &memberships(const std::string &file);

// True if h holds controller, as one of koker's or an extra one.
bool holds(const Hierarchy &h, std::string_view controller);
bool is_dir(const std::string &path);
void nap_ms(long ms);
// Each value goes in one write(2): the kernel parses each write on its own (devices.allow
// takes one rule per write). Under a fake root (Host::fake) the file is created.
void write_values(const std::string &path, const std::vector<std::string_view> &values,
                  bool fake);
void write_value(const std::string &path, std::string_view value, bool fake);
// A cgroup file's content, trimmed; nothing when it does not exist.
std::optional<std::string> read_value(const std::string &path);
// A number from a cgroup file; "max" (v2, pids) is UNLIMITED.
std::optional<uint64_t> read_u64(const std::string &path);
// The value of KEY in a flat-keyed file such as memory.stat or memory.events ("KEY VALUE").
std::optional<uint64_t> read_key(const std::string &path, std::string_view key);
// A group's own directory: one that exists already is someone else's, and refused.
void make_dir(const std::string &path);
// rmdir(2), retried while the kernel still says EBUSY; a fake group's files go first.
void remove_dir(const std::string &path, bool fake);
// The parents made for a group (Group::made), deepest first, each only when it is empty: another
// group may have come to live below one since. Never throws: what is left is logged.
void remove_parents(const std::vector<std::string> &made, bool fake);
// koker/ itself, shared by every group: made once, when missing.
void make_parent(const Hierarchy &h);
// Polls path until its value (or its KEY line) reads want, for up to a second.
bool wait_for(const std::string &path, std::string_view key, std::string_view want);

class Manager {
public:
  virtual ~Manager() = default;
  // Before koker/NAME is made: the koker parent, and on v2 the controllers it hands down.
  virtual void prepare(const Hierarchy &h, bool fake) const = 0;
  // After koker/NAME is made: device rules.
  virtual void init(const Hierarchy &h, const std::string &dir, Mode mode, bool fake) const = 0;
  virtual void set(const Hierarchy &h, const std::string &dir, const Limits &l,
                   bool fake) const = 0;
  // An OCI container's group (Group::resolve). before: each group above it, from the
  // hierarchy's root down (v2: hands down every controller it has, as runc does; v1: nothing).
  // made: dir was just made (v1 cpuset: its parent's CPUs and memory nodes, without which no
  // task may join). apply: r's values (Group::apply).
  virtual void before(const Hierarchy &h, const std::string &parent, bool fake) const = 0;
  virtual void made(const Hierarchy &h, const std::string &dir, bool fake) const = 0;
  virtual void apply(const Hierarchy &h, const std::string &dir, const Resources &r,
                     bool fake) const = 0;
  // Fills the members of st this hierarchy knows and st does not have yet.
  virtual void stats(const Hierarchy &h, const std::string &dir, Stats &st) const = 0;
  // Freezes or thaws dir and waits until the kernel says so; false if it cannot.
  virtual bool freeze(const Hierarchy &h, const std::string &dir, bool frozen) const = 0;
};

// The manager for a hierarchy: v2 for the unified tree, v1 for the others.
const Manager &manager(const Hierarchy &h);
const Manager &v1_manager();
const Manager &v2_manager();

} // namespace koker::cgroup::detail
