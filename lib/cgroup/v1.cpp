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
    if (holds(h, "memory") && l.memory)
      set_memory(h, dir, *l.memory, l.swap, fake);
    if (holds(h, "cpu") && l.nano_cpus) {
      write_value(dir + "/cpu.cfs_period_us", std::to_string(CFS_PERIOD_US), fake);
      write_value(dir + "/cpu.cfs_quota_us", std::to_string(*l.nano_cpus / 10000), fake);
    }
    if (holds(h, "pids") && l.pids)
      write_value(dir + "/pids.max", std::to_string(*l.pids), fake);
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

private:
  // memory.memsw.limit_in_bytes (memory + swap) must stay >= memory.limit_in_bytes after each
  // write, so the order depends on the current value (as runc's setMemoryAndSwap does).
  static void set_memory(const Hierarchy &h, const std::string &dir, uint64_t memory,
                         std::optional<uint64_t> swap, bool fake) {
    std::string mem_file = dir + "/memory.limit_in_bytes";
    std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
    // The root of the hierarchy has the file exactly when swap accounting is on.
    if (!sys::exists(h.mount + "/memory.memsw.limit_in_bytes")) {
      if (swap)
        log::warn("your kernel does not support swap limit capabilities (no ", h.mount,
                  "/memory.memsw.limit_in_bytes): memory limited without swap");
      else
        log::debug("no swap accounting in ", h.mount, ": memory limited without swap");
      write_value(mem_file, std::to_string(memory), fake);
      return;
    }
    uint64_t memsw = memory + swap.value_or(memory);
    uint64_t current = read_u64(memsw_file).value_or(UNLIMITED);
    if (current >= memory) {
      write_value(mem_file, std::to_string(memory), fake);
      write_value(memsw_file, std::to_string(memsw), fake);
    } else {
      write_value(memsw_file, std::to_string(memsw), fake);
      write_value(mem_file, std::to_string(memory), fake);
    }
  }
};

} // namespace

const Manager &v1_manager() {
  static const V1Manager manager;
  return manager;
}

} // namespace koker::cgroup::detail
