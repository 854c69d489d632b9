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
        write_value(dir + "/memory.swap.max", std::to_string(l.swap.value_or(*l.memory)), fake);
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
