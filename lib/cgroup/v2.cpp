// SPDX-License-Identifier: MIT
// The v2 manager: the unified tree (Documentation/admin-guide/cgroup-v2.rst). In hybrid mode
// it holds no controller but still tracks membership, kills (cgroup.kill) and reports
// populated.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <set>

namespace koker::cgroup::detail {

namespace {

class V2Manager final : public Manager {
public:
  void prepare(const Hierarchy &h, bool fake) const override {
    // A controller works in koker/NAME only when every ancestor enables it in
    // cgroup.subtree_control (cgroup-v2.rst, "Enabling and Disabling").
    enable(h, h.mount, fake);
    make_parent(h);
    enable(h, h.mount + "/koker", fake);
  }

  void init(const Hierarchy &, const std::string &dir, Mode mode, bool) const override {
    if (mode == Mode::v2)
      log::debug("no device rules for ", dir,
                 ": cgroup v2 needs an eBPF program (BPF_CGROUP_DEVICE) for them, which koker "
                 "does not load, so device nodes are not restricted");
  }

  void set(const Hierarchy &h, const std::string &dir, const Limits &l, bool fake) const override {
    if (holds(h, "memory") && l.memory) {
      write_value(dir + "/memory.max", std::to_string(*l.memory), fake);
      // memory.swap.max is swap alone. koker/ has it exactly when swap accounting is on.
      if (sys::exists(h.mount + "/koker/memory.swap.max"))
        write_value(dir + "/memory.swap.max",
                    l.swap == UNLIMITED ? "max" : std::to_string(l.swap.value_or(*l.memory)), fake);
      else if (l.swap)
        log::warn("your kernel does not support swap limit capabilities (no ", h.mount,
                  "/koker/memory.swap.max): memory limited without swap");
      else
        log::debug("no swap accounting in ", h.mount, ": memory limited without swap");
    }
    if (holds(h, "cpu") && l.nano_cpus)
      write_value(dir + "/cpu.max", cat(*l.nano_cpus / 10000, ' ', CFS_PERIOD_US), fake);
    if (holds(h, "pids") && l.pids)
      write_value(dir + "/pids.max", std::to_string(*l.pids), fake);
  }

  void stats(const Hierarchy &h, const std::string &dir, Stats &st) const override {
    if (holds(h, "memory")) {
      auto usage = read_u64(dir + "/memory.current");
      auto inactive = read_key(dir + "/memory.stat", "inactive_file");
      if (usage)
        st.memory_usage = *usage - std::min(*usage, inactive.value_or(0));
      st.memory_limit = read_u64(dir + "/memory.max");
      st.oom_kills = read_key(dir + "/memory.events", "oom_kill");
    }
    // cpu.stat's usage_usec is there even without the cpu controller.
    if (!st.cpu_usage_ns)
      if (auto usec = read_key(dir + "/cpu.stat", "usage_usec"))
        st.cpu_usage_ns = *usec * 1000;
    if (holds(h, "pids")) {
      st.pids_current = read_u64(dir + "/pids.current");
      st.pids_limit = read_u64(dir + "/pids.max");
    }
  }

  void before(const Hierarchy &h, const std::string &parent, bool fake) const override {
    // runc's fs2 CreateCgroupPath: every controller the parent has goes down, all in one write
    // or, refused, one by one, errors ignored (a parent with processes of its own cannot hand
    // any down): a limit that then finds no file says why.
    std::vector<std::string> all = h.controllers;
    all.insert(all.end(), h.extra.begin(), h.extra.end());
    if (all.empty())
      return; // hybrid's unified tree: nothing to hand down
    std::set<std::string> on;
    for (auto word : text::fields(read_value(parent + "/cgroup.subtree_control").value_or(""), ' '))
      on.insert(word[0] == '+' ? word.substr(1) : word);
    std::vector<std::string> add;
    for (const auto &c : all)
      if (!on.count(c))
        add.push_back("+" + c);
    if (add.empty())
      return;
    std::string file = parent + "/cgroup.subtree_control";
    std::string line;
    for (const auto &c : add)
      line += cat(line.empty() ? "" : " ", c);
    try {
      write_value(file, line, fake);
    } catch (const Error &) {
      for (const auto &c : add)
        try {
          write_value(file, c, fake);
        } catch (const Error &e) {
          log::debug("cgroup ", parent, " keeps ", c.substr(1), " to itself: ", e.what());
        }
    }
  }

  void made(const Hierarchy &, const std::string &, bool) const override {}

  // runc's fs2: memory.swap.max is swap alone (the spec's swap less its limit), cpu.weight from
  // the shares, io.weight from the blkio weight (or BFQ's io.bfq.weight, as given), io.max
  // for the throttles; v2 has no kernel memory, swappiness, OOM switch, RT, net_cls or
  // net_prio, and device rules need an eBPF program koker does not load.
  void apply(const Hierarchy &h, const std::string &dir, const Resources &r,
             bool fake) const override {
    auto w = [&](const std::string &file, const std::string &value) {
      write_value(dir + "/" + file, value, fake);
    };
    auto num = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
    if (holds(h, "cpuset")) {
      if (!r.cpuset_cpus.empty())
        w("cpuset.cpus", r.cpuset_cpus);
      if (!r.cpuset_mems.empty())
        w("cpuset.mems", r.cpuset_mems);
    }
    // (Hybrid's unified tree holds no controller: its v1 devices hierarchy has the rules.)
    if (!r.devices.empty() && !(h.controllers.empty() && h.extra.empty()))
      log::debug("no device rules for ", dir,
                 ": cgroup v2 needs an eBPF program (BPF_CGROUP_DEVICE) for them, which koker "
                 "does not load, so device nodes are not restricted");
    if (holds(h, "memory")) {
      int64_t limit = r.memory_limit.value_or(0), swap = r.memory_swap.value_or(0);
      std::optional<std::string> swap_max;
      if (limit == -1 && swap == 0)
        swap_max = "max";
      else if (swap == -1)
        swap_max = "max";
      else if (swap != 0) {
        if (limit <= 0)
          fail("unable to set the swap limit of ", dir, " without a memory limit");
        if (swap < limit)
          fail("unable to set the memory limits of ", dir, ": memory+swap (", swap,
               ") is below memory (", limit, ")");
        swap_max = std::to_string(swap - limit);
      }
      if (swap_max) {
        if (sys::exists(dir + "/memory.swap.max") ||
            sys::exists(sys::dirname(dir) + "/memory.swap.max"))
          w("memory.swap.max", *swap_max);
        else if (r.memory_swap)
          log::warn("your kernel does not support swap limit capabilities (no ", dir,
                    "/memory.swap.max): memory limited without swap");
      }
      if (limit != 0)
        w("memory.max", num(limit));
      if (r.memory_reservation.value_or(0) != 0)
        w("memory.low", num(*r.memory_reservation));
    }
    if (holds(h, "cpu")) {
      if (r.cpu_shares.value_or(0) != 0)
        w("cpu.weight", std::to_string(1 + ((*r.cpu_shares - 2) * 9999) / 262142));
      if (r.cpu_quota.value_or(0) != 0 || r.cpu_period.value_or(0) != 0) {
        int64_t quota = r.cpu_quota.value_or(0);
        w("cpu.max", cat(quota > 0 ? std::to_string(quota) : "max", ' ',
                         r.cpu_period.value_or(0) ? *r.cpu_period : CFS_PERIOD_US));
      }
    }
    if (holds(h, "pids") && r.pids_limit.value_or(0) != 0)
      w("pids.max", num(*r.pids_limit));
    if (holds(h, "io")) {
      bool bfq = sys::exists(dir + "/io.bfq.weight");
      if (r.blkio_weight.value_or(0) != 0)
        w(bfq ? "io.bfq.weight" : "io.weight",
          std::to_string(bfq ? *r.blkio_weight : 1 + (*r.blkio_weight - 10) * 9999 / 990));
      if (bfq)
        for (const auto &d : r.blkio_weight_device)
          if (d.weight.value_or(0) != 0)
            w("io.bfq.weight", cat(d.major, ':', d.minor, ' ', *d.weight));
      auto throttle = [&](const char *key, const std::vector<ThrottleDevice> &list) {
        for (const auto &d : list)
          w("io.max", cat(d.major, ':', d.minor, ' ', key, '=', d.rate));
      };
      throttle("rbps", r.blkio_throttle_read_bps);
      throttle("wbps", r.blkio_throttle_write_bps);
      throttle("riops", r.blkio_throttle_read_iops);
      throttle("wiops", r.blkio_throttle_write_iops);
    }
    if (holds(h, "hugetlb"))
      for (const auto &l : r.hugepage_limits)
        w(cat("hugetlb.", l.page_size, ".max"), std::to_string(l.limit));
    // linux.resources.unified: cgroup v2 files by name, as given (runc checks the name only).
    for (const auto &[file, value] : r.unified) {
      if (file.empty() || file.find('/') != std::string::npos || file[0] == '.')
        fail("invalid linux.resources.unified key '", printable(file, 60), "': not a file name");
      w(file, value);
    }
  }

  bool freeze(const Hierarchy &, const std::string &dir, bool frozen) const override {
    if (!sys::exists(dir + "/cgroup.freeze"))
      return false;
    write_value(dir + "/cgroup.freeze", frozen ? "1" : "0", false);
    return wait_for(dir + "/cgroup.events", "frozen", frozen ? "1" : "0");
  }

private:
  static void enable(const Hierarchy &h, const std::string &dir, bool fake) {
    if (h.controllers.empty())
      return; // hybrid's unified tree: nothing to hand down
    std::set<std::string> on;
    for (auto word : text::fields(read_value(dir + "/cgroup.subtree_control").value_or(""), ' '))
      on.insert(word[0] == '+' ? word.substr(1) : word);
    std::string add;
    for (const char *c : V2_CONTROLLERS)
      if (holds(h, c) && !on.count(c))
        add += cat(add.empty() ? "" : " ", '+', c);
    if (!add.empty())
      write_value(dir + "/cgroup.subtree_control", add, fake);
  }
};

} // namespace

const Manager &v2_manager() {
  static const V2Manager manager;
  return manager;
}

} // namespace koker::cgroup::detail
