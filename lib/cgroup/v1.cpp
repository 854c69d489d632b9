// SPDX-License-Identifier: MIT
// The v1 manager: one hierarchy per controller (Documentation/admin-guide/cgroup-v1/).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>

namespace koker::cgroup::detail {

namespace {

// runc's default device rules plus /dev/console: mknod of anything (m), then the standard
// nodes and the pty slaves. Everything else (disks, /dev/mem, ...) is denied, so a device node
// shipped in an image is useless inside the group.
const char *const DEVICE_RULES[] = {"c *:* m",   "b *:* m",   "c 1:3 rwm",  "c 1:5 rwm",
                                    "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  "c 5:0 rwm",
                                    "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};

class V1Manager final : public Manager {
public:
  void prepare(const Hierarchy &h, bool) const override { make_parent(h); }

  void init(const Hierarchy &h, const std::string &dir, Mode, bool fake) const override {
    if (!holds(h, "devices"))
      return;
    // Deny first, then allow: a child can only narrow its parent's list (devices.rst).
    write_value(dir + "/devices.deny", "a", fake);
    write_values(dir + "/devices.allow", {std::begin(DEVICE_RULES), std::end(DEVICE_RULES)}, fake);
  }

  void set(const Hierarchy &h, const std::string &dir, const Limits &l, bool fake) const override {
    if (holds(h, "memory") && l.memory) {
      // The root of the hierarchy has the file exactly when swap accounting is on.
      std::optional<std::string> memsw; // -1: memory limited, swap not (docker --memory-swap -1)
      if (sys::exists(h.mount + "/memory.memsw.limit_in_bytes"))
        memsw = l.swap == UNLIMITED ? "-1" : std::to_string(*l.memory + l.swap.value_or(*l.memory));
      else if (l.swap)
        log::warn("your kernel does not support swap limit capabilities (no ", h.mount,
                  "/memory.memsw.limit_in_bytes): memory limited without swap");
      else
        log::debug("no swap accounting in ", h.mount, ": memory limited without swap");
      write_memory(dir, std::to_string(*l.memory), memsw.value_or(""), fake);
    }
    if (holds(h, "cpu") && l.nano_cpus) {
      write_value(dir + "/cpu.cfs_period_us", std::to_string(CFS_PERIOD_US), fake);
      write_value(dir + "/cpu.cfs_quota_us", std::to_string(*l.nano_cpus / 10000), fake);
    }
    if (holds(h, "pids") && l.pids)
      write_value(dir + "/pids.max", std::to_string(*l.pids), fake);
    if (holds(h, "devices") && !l.allow_devices.empty())
      write_values(dir + "/devices.allow", {l.allow_devices.begin(), l.allow_devices.end()}, fake);
  }

  void stats(const Hierarchy &h, const std::string &dir, Stats &st) const override {
    if (holds(h, "memory")) {
      auto usage = read_u64(dir + "/memory.usage_in_bytes");
      auto inactive = read_key(dir + "/memory.stat", "total_inactive_file");
      if (usage)
        st.memory_usage = *usage - std::min(*usage, inactive.value_or(0));
      auto limit = read_u64(dir + "/memory.limit_in_bytes");
      // "Unlimited" reads as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages).
      if (limit)
        st.memory_limit = *limit >= (uint64_t(1) << 62) ? UNLIMITED : *limit;
      st.oom_kills = read_key(dir + "/memory.oom_control", "oom_kill");
    }
    if (holds(h, "cpuacct") && !st.cpu_usage_ns)
      st.cpu_usage_ns = read_u64(dir + "/cpuacct.usage");
    if (holds(h, "pids")) {
      st.pids_current = read_u64(dir + "/pids.current");
      st.pids_limit = read_u64(dir + "/pids.max");
    }
  }

  bool freeze(const Hierarchy &h, const std::string &dir, bool frozen) const override {
    if (!holds(h, "freezer"))
      return false;
    const char *state = frozen ? "FROZEN" : "THAWED";
    write_value(dir + "/freezer.state", state, false);
    return wait_for(dir + "/freezer.state", "", state);
  }

  void before(const Hierarchy &, const std::string &, bool) const override {}

  void made(const Hierarchy &h, const std::string &dir, bool fake) const override {
    if (!holds(h, "cpuset"))
      return;
    // A new cpuset group has no CPUs and no memory nodes, and no task may join it so
    // (cpusets.rst): it starts with its parent's, as runc's cpusetCopyIfNeeded does.
    std::string parent = sys::dirname(dir);
    for (const char *file : {"cpuset.cpus", "cpuset.mems"}) {
      auto mine = read_value(dir + "/" + file);
      auto theirs = read_value(parent + "/" + file);
      if (theirs && !theirs->empty() && (!mine || mine->empty()))
        write_value(dir + "/" + file, *theirs, fake);
    }
  }

  void apply(const Hierarchy &h, const std::string &dir, const Resources &r,
             bool fake) const override {
    auto w = [&](const char *file, const std::string &value) {
      write_value(dir + "/" + file, value, fake);
    };
    if (holds(h, "cpuset")) {
      if (!r.cpuset_cpus.empty())
        w("cpuset.cpus", r.cpuset_cpus);
      if (!r.cpuset_mems.empty())
        w("cpuset.mems", r.cpuset_mems);
    }
    if (holds(h, "devices") && !r.devices.empty()) {
      // Deny everything, then each rule in the order given: the kernel applies them as they
      // come (devices.rst), so the list reads in that order too (what the runtime-spec's
      // conformance suite checks).
      w("devices.deny", "a");
      for (const auto &rule : r.devices)
        w(rule.allow ? "devices.allow" : "devices.deny", rule.line());
    }
    if (holds(h, "memory"))
      apply_memory(h, dir, r, fake);
    if (holds(h, "cpu"))
      apply_cpu(dir, r, fake);
    if (holds(h, "pids") && given(r.pids_limit))
      w("pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max");
    if (holds(h, "blkio"))
      apply_blkio(dir, r, fake);
    if (holds(h, "hugetlb"))
      for (const auto &l : r.hugepage_limits)
        write_value(cat(dir, "/hugetlb.", l.page_size, ".limit_in_bytes"), std::to_string(l.limit),
                    fake);
    if (holds(h, "net_cls") && given(r.net_cls_classid))
      w("net_cls.classid", std::to_string(*r.net_cls_classid));
    if (holds(h, "net_prio"))
      for (const auto &p : r.net_prio_ifpriomap)
        w("net_prio.ifpriomap", cat(p.name, ' ', p.priority));
  }

private:
  template <class T> static bool given(const std::optional<T> &v) { return v && *v != 0; }

  // runc's fs/memory.go, with kernel memory written rather than dropped: the runtime-spec
  // still defines it, and kernels since 6.x take the write and ignore it.
  static void apply_memory(const Hierarchy &h, const std::string &dir, const Resources &r,
                           bool fake) {
    auto w = [&](const char *file, const std::string &value) {
      write_value(dir + "/" + file, value, fake);
    };
    bool swap_accounting = sys::exists(h.mount + "/memory.memsw.limit_in_bytes");
    std::optional<int64_t> swap = r.memory_swap;
    // runc: memory -1 alone lifts the swap limit as well.
    if (r.memory_limit == -1 && !given(swap) && swap_accounting)
      swap = -1;
    if (given(swap) && !swap_accounting) {
      log::warn("your kernel does not support swap limit capabilities (no ", h.mount,
                "/memory.memsw.limit_in_bytes): memory limited without swap");
      swap.reset();
    }
    write_memory(dir, given(r.memory_limit) ? std::to_string(*r.memory_limit) : "",
                 given(swap) ? std::to_string(*swap) : "", fake);
    if (given(r.memory_kernel))
      w("memory.kmem.limit_in_bytes", std::to_string(*r.memory_kernel));
    if (given(r.memory_kernel_tcp))
      w("memory.kmem.tcp.limit_in_bytes", std::to_string(*r.memory_kernel_tcp));
    if (given(r.memory_reservation))
      w("memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation));
    if (r.disable_oom_killer.value_or(false))
      w("memory.oom_control", "1");
    if (r.memory_swappiness && *r.memory_swappiness != UINT64_MAX) { // -1: the default
      if (*r.memory_swappiness > 100)
        fail("invalid memory swappiness value: ", *r.memory_swappiness, " (valid range is 0-100)");
      w("memory.swappiness", std::to_string(*r.memory_swappiness));
    }
  }

  // runc's fs/cpu.go: shares read back (the kernel clamps them silently), the period before
  // the quota, unless the kernel refuses the new period beside the old quota (EINVAL), then
  // after it.
  static void apply_cpu(const std::string &dir, const Resources &r, bool fake) {
    if (given(r.cpu_shares)) {
      write_value(dir + "/cpu.shares", std::to_string(*r.cpu_shares), fake);
      auto got = read_u64(dir + "/cpu.shares");
      if (!fake && got && *got != *r.cpu_shares)
        fail("unable to set cpu.shares of ", dir, " to ", *r.cpu_shares, ": the ",
             *got < *r.cpu_shares ? "maximum" : "minimum", " allowed cpu-shares is ", *got);
    }
    bool period_later = false;
    if (given(r.cpu_period)) {
      try {
        write_value(dir + "/cpu.cfs_period_us", std::to_string(*r.cpu_period), fake);
      } catch (const Error &e) {
        if (e.sys_errno() != EINVAL || !given(r.cpu_quota))
          throw;
        period_later = true;
      }
    }
    if (given(r.cpu_quota)) {
      write_value(dir + "/cpu.cfs_quota_us", std::to_string(*r.cpu_quota), fake);
      if (period_later)
        write_value(dir + "/cpu.cfs_period_us", std::to_string(*r.cpu_period), fake);
    }
    if (given(r.cpu_rt_period))
      write_value(dir + "/cpu.rt_period_us", std::to_string(*r.cpu_rt_period), fake);
    if (given(r.cpu_rt_runtime))
      write_value(dir + "/cpu.rt_runtime_us", std::to_string(*r.cpu_rt_runtime), fake);
  }

  // runc's fs/blkio.go: blkio.weight, or BFQ's blkio.bfq.weight where CFQ is gone.
  static void apply_blkio(const std::string &dir, const Resources &r, bool fake) {
    bool cfq = sys::exists(dir + "/blkio.weight");
    std::string weight = cfq ? "blkio.weight" : "blkio.bfq.weight";
    std::string weight_device = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
    auto w = [&](const std::string &file, const std::string &value) {
      write_value(dir + "/" + file, value, fake);
    };
    if (given(r.blkio_weight))
      w(weight, std::to_string(*r.blkio_weight));
    if (given(r.blkio_leaf_weight))
      w("blkio.leaf_weight", std::to_string(*r.blkio_leaf_weight));
    for (const auto &d : r.blkio_weight_device) {
      if (given(d.weight))
        w(weight_device, cat(d.major, ':', d.minor, ' ', *d.weight));
      if (given(d.leaf_weight))
        w("blkio.leaf_weight_device", cat(d.major, ':', d.minor, ' ', *d.leaf_weight));
    }
    auto throttle = [&](const char *file, const std::vector<ThrottleDevice> &list) {
      for (const auto &d : list)
        w(file, cat(d.major, ':', d.minor, ' ', d.rate));
    };
    throttle("blkio.throttle.read_bps_device", r.blkio_throttle_read_bps);
    throttle("blkio.throttle.write_bps_device", r.blkio_throttle_write_bps);
    throttle("blkio.throttle.read_iops_device", r.blkio_throttle_read_iops);
    throttle("blkio.throttle.write_iops_device", r.blkio_throttle_write_iops);
  }

  // memory.memsw.limit_in_bytes (memory + swap) must stay >= memory.limit_in_bytes after each
  // write, so the order depends on the current value (as runc's setMemoryAndSwap does). An
  // empty value is not written; "-1" is no limit, above any current value.
  static void write_memory(const std::string &dir, const std::string &memory,
                           const std::string &memsw, bool fake) {
    std::string mem_file = dir + "/memory.limit_in_bytes";
    std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
    if (memsw.empty() || memory.empty()) {
      if (!memory.empty())
        write_value(mem_file, memory, fake);
      if (!memsw.empty())
        write_value(memsw_file, memsw, fake);
      return;
    }
    uint64_t current = read_u64(memsw_file).value_or(UNLIMITED);
    uint64_t want = memory == "-1" ? UNLIMITED : sys::parse_uint(memory).value_or(UNLIMITED);
    if (current >= want) {
      write_value(mem_file, memory, fake);
      write_value(memsw_file, memsw, fake);
    } else {
      write_value(memsw_file, memsw, fake);
      write_value(mem_file, memory, fake);
    }
  }
};

} // namespace

const Manager &v1_manager() {
  static const V1Manager manager;
  return manager;
}

} // namespace koker::cgroup::detail
