// SPDX-License-Identifier: MIT
// A group: koker/NAME in each hierarchy koker uses, each driven by its manager.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::cgroup {

using namespace detail;

namespace {

std::string describe_dirs(const Host &host, const std::map<std::string, std::string> &dirs) {
  std::string s;
  for (const auto &h : host.hierarchies)
    s += cat(s.empty() ? "" : ", ", dirs.at(h.mount));
  return s.empty() ? "no hierarchy" : s;
}

// Refuses limits no hierarchy of host can apply, before anything is written.
void require_controllers(const Host &host, const std::map<std::string, std::string> &dirs,
                         const Limits &l, std::string_view name) {
  auto check_one = [&](bool wanted, const char *controller, const char *what) {
    if (!wanted)
      return;
    for (const auto &h : host.hierarchies)
      if (holds(h, controller))
        return;
    fail("unable to limit ", what, " of cgroup ", name, ": no ", controller, " controller in ",
         describe_dirs(host, dirs));
  };
  check_one(l.memory || l.swap, "memory", "the memory");
  check_one(l.nano_cpus.has_value(), "cpu", "the CPUs");
  check_one(l.pids.has_value(), "pids", "the processes");
}

// 0 leaves a value as it is, as unset does (runc's Resources hold plain numbers).
template <class T> bool given(const std::optional<T> &v) { return v && *v != 0; }

// The controllers r writes to, each with what it sets (for messages). Device rules need the
// devices controller on v1 and hybrid hosts only (v2 has no file for them).
std::vector<std::pair<const char *, const char *>> controllers_of(const Resources &r, bool v2) {
  std::vector<std::pair<const char *, const char *>> out;
  auto add = [&](bool wanted, const char *controller, const char *what) {
    if (wanted)
      out.emplace_back(controller, what);
  };
  add(given(r.memory_limit) || given(r.memory_reservation) || given(r.memory_swap) ||
          given(r.memory_kernel) || given(r.memory_kernel_tcp) ||
          (r.memory_swappiness && *r.memory_swappiness != UINT64_MAX) ||
          r.disable_oom_killer.value_or(false),
      "memory", "the memory limits");
  add(given(r.cpu_shares) || given(r.cpu_period) || given(r.cpu_quota) ||
          given(r.cpu_rt_period) || given(r.cpu_rt_runtime),
      "cpu", "the CPU limits");
  add(!r.cpuset_cpus.empty() || !r.cpuset_mems.empty(), "cpuset", "the CPUs and memory nodes");
  add(given(r.pids_limit), "pids", "the process limit");
  add(given(r.blkio_weight) || given(r.blkio_leaf_weight) || !r.blkio_weight_device.empty() ||
          !r.blkio_throttle_read_bps.empty() || !r.blkio_throttle_write_bps.empty() ||
          !r.blkio_throttle_read_iops.empty() || !r.blkio_throttle_write_iops.empty(),
      v2 ? "io" : "blkio", "the block I/O limits");
  add(!r.hugepage_limits.empty(), "hugetlb", "the huge page limits");
  add(given(r.net_cls_classid), "net_cls", "the network class ID");
  add(!r.net_prio_ifpriomap.empty(), "net_prio", "the network priorities");
  add(!r.devices.empty() && !v2, "devices", "the device rules");
  return out;
}

// Refuses r when a value it sets has no controller on the host, before anything is made, as
// runc does ("cannot set hugetlb limit: container could not join or create cgroup"). On v1
// and hybrid hosts a rule needs the devices controller: runc holds it a hard requirement, as
// without it every device node in the image is open to the container.
void require_resources(const Host &host, const Resources &r, std::string_view name) {
  for (const auto &[controller, what] : controllers_of(r, host.mode == Mode::v2))
    if (std::none_of(host.hierarchies.begin(), host.hierarchies.end(),
                     [c = controller](const Hierarchy &h) { return holds(h, c); }))
      fail("unable to set ", what, " of cgroup ", name, ": no ", controller,
           " controller is mounted on this ", mode_name(host.mode), " host");
  if (!r.unified.empty() && host.mode != Mode::v2)
    fail("unable to set linux.resources.unified of cgroup ", name,
         ": it holds cgroup v2 files, and this host is ", mode_name(host.mode));
}

// True when an OCI group has a use for h: the unified tree (membership, kill, populated),
// what every container gets (memory, pids, devices, cpuacct for stats, freezer for pause),
// or a controller r writes to (docs/cli.md "koker-oci's control groups" rule 7).
bool oci_uses(const Hierarchy &h, const Resources &r, bool v2) {
  if (h.unified)
    return true;
  for (const char *c : {"memory", "pids", "devices", "cpuacct", "freezer"})
    if (holds(h, c))
      return true;
  for (const auto &cw : controllers_of(r, v2))
    if (holds(h, cw.first))
      return true;
  return false;
}

// h.mount and each directory below it down to dir's parent: the groups a new group hangs from.
std::vector<std::string> ancestors(const Hierarchy &h, const std::string &dir) {
  std::vector<std::string> out{h.mount};
  for (const auto &part : text::fields(dir.substr(h.mount.size()), '/'))
    out.push_back(out.back() + "/" + part);
  out.pop_back(); // dir itself
  return out;
}

// True when dir exists and holds a process: another's group, not to be joined.
bool in_use(const std::string &dir) {
  return !text::trim(read_value(dir + "/cgroup.procs").value_or("")).empty();
}

} // namespace

bool valid_name(std::string_view name) {
  // docker's name rule, which already excludes '/'; ".." is refused as well, as a path part.
  return text::is_name(name) && name.find("..") == std::string_view::npos;
}

void check_name(std::string_view name) {
  if (!valid_name(name))
    fail("invalid cgroup name '", printable(name, 40),
         "': only [a-zA-Z0-9][a-zA-Z0-9_.-]* of at most 128 characters, without '..'");
}

Group::Group(std::string name, Host host) : m_name(std::move(name)), m_host(std::move(host)) {
  for (const auto &h : m_host.hierarchies)
    m_dirs[h.mount] = cat(h.mount, "/koker/", m_name);
}

std::string Group::dir(const Hierarchy &h) const { return m_dirs.at(h.mount); }

std::string Group::leaf() const {
  if (m_dirs.empty())
    return m_name;
  const std::string &d = m_dirs.begin()->second;
  return d.substr(d.rfind('/') + 1);
}

Group Group::checked(std::string_view name, const Limits &limits) {
  check_name(name);
  check_limits(limits);
  Group g(std::string(name), koker_view(probe()));
  require_controllers(g.m_host, g.m_dirs, limits, name);
  for (const auto &h : g.m_host.hierarchies)
    if (sys::exists(g.dir(h)))
      fail("unable to create cgroup ", name, ": ", g.dir(h), " already exists");
  return g;
}

std::string Group::make_in(const Hierarchy &h, sys::Rollback *undo) const {
  std::string d = dir(h);
  make_dir(d);
  if (undo)
    undo->add(cat("rmdir ", d), [d, fake = m_host.fake] { remove_dir(d, fake); });
  manager(h).init(h, d, m_host.mode, m_host.fake);
  return d;
}

void Group::add_to_seed(Seed &seed, const Hierarchy &h) const {
  seed.fake = m_host.fake;
  std::string d = h.unified ? dir(h) : sys::dirname(dir(h));
  Fd fd(::open(d.c_str(), (h.unified ? O_RDONLY : O_PATH) | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    sys_fail("unable to open cgroup ", d);
  if (h.unified) {
    seed.unified = std::move(fd);
    seed.unified_path = d;
  } else {
    seed.v1_parents.emplace_back(std::move(fd), d);
  }
}

Group Group::create(std::string_view name, const Limits &limits) {
  Group g = checked(name, limits);
  sys::Rollback undo;
  for (const auto &h : g.m_host.hierarchies) {
    manager(h).prepare(h, g.m_host.fake);
    g.make_in(h, &undo);
  }
  g.set(limits);
  undo.dismiss();
  return g;
}

Group Group::prepare(std::string_view name, const Limits &limits, Seed &seed) {
  Group g = checked(name, limits);
  auto &hs = g.m_host.hierarchies;
  // The unified tree first: whether it can kill and freeze decides whether the v1 freezer is
  // needed at all.
  bool unified_kills = false;
  sys::Rollback undo;
  for (const auto &h : hs)
    if (h.unified) {
      manager(h).prepare(h, g.m_host.fake);
      std::string d = g.make_in(h, &undo);
      g.add_to_seed(seed, h);
      unified_kills = sys::exists(d + "/cgroup.kill") && sys::exists(d + "/cgroup.freeze");
    }
  // A container's group uses a v1 hierarchy only for something it holds: cpu only with a CPU
  // limit (cpuacct, which koker stats reads, stays), freezer only when the unified tree cannot
  // kill the group (Linux 5.14). Every mkdir, join and rmdir left out is time off each start.
  auto needed = [&](const Hierarchy &h) {
    for (const auto &c : h.controllers)
      if (!(c == "cpu" && !limits.nano_cpus) && !(c == "freezer" && unified_kills))
        return true;
    return h.unified;
  };
  for (const auto &h : hs)
    if (!needed(h)) {
      log::debug("cgroup: no use for ", h.mount, " in this container");
      g.m_spare.emplace_back(h, g.dir(h)); // koker-update may join it (extend)
    }
  g.m_remove_spare = true;
  hs.erase(std::remove_if(hs.begin(), hs.end(), [&](const Hierarchy &h) { return !needed(h); }),
           hs.end());
  for (const auto &h : hs)
    if (!h.unified) {
      if (!sys::exists(h.mount + "/koker"))
        manager(h).prepare(h, g.m_host.fake); // makes koker/
      g.add_to_seed(seed, h);
    }
  undo.dismiss();
  return g;
}

Group Group::resolve(std::string name, const Place &place, const Resources &r) {
  Host host = probe();
  require_resources(host, r, name);
  Group g(std::move(name), host);
  g.m_dirs.clear();
  g.m_host.hierarchies.clear();
  for (const auto &h : host.hierarchies) {
    std::string d = base_dir(h, place.base, host.fake) + "/" + place.path;
    if (!oci_uses(h, r, host.mode == Mode::v2)) {
      log::debug("cgroup: no use for ", h.mount, " in this container");
      g.m_spare.emplace_back(h, d);
      continue;
    }
    g.m_host.hierarchies.push_back(h);
    g.m_dirs[h.mount] = d;
    for (const auto &a : ancestors(h, d))
      if (!is_dir(a))
        g.m_made.push_back(a);
  }
  return g;
}

void Group::prepare(Seed &seed) {
  for (const auto &h : m_host.hierarchies)
    if (in_use(dir(h)))
      fail("unable to create cgroup ", m_name, ": ", dir(h), " exists and has processes");
  sys::Rollback undo;
  for (const auto &h : m_host.hierarchies) {
    make_parents(h, dir(h), &undo);
    if (!h.unified)
      continue;
    std::string d = dir(h);
    if (!is_dir(d)) {
      make_dir(d);
      undo.add(cat("rmdir ", d), [d, fake = m_host.fake] { remove_dir(d, fake); });
    } else {
      log::debug("cgroup ", d, " exists, empty: joined as runc's mkdir -p does");
    }
    manager(h).made(h, d, m_host.fake);
  }
  for (const auto &h : m_host.hierarchies)
    add_to_seed(seed, h);
  undo.dismiss();
}

void Group::make_parents(const Hierarchy &h, const std::string &d, sys::Rollback *undo) {
  for (const auto &a : ancestors(h, d)) {
    if (!is_dir(a)) {
      if (std::find(m_made.begin(), m_made.end(), a) == m_made.end())
        m_made.push_back(a);
      log::debug("mkdir ", a);
      if (::mkdir(a.c_str(), 0755) < 0 && errno != EEXIST) // EEXIST: made by another meanwhile
        sys_fail("unable to create cgroup ", a);
      if (undo)
        undo->add(cat("rmdir ", a), [a, fake = m_host.fake] { remove_parents({a}, fake); });
      manager(h).made(h, a, m_host.fake);
    }
    manager(h).before(h, a, m_host.fake);
  }
}

void Group::create_v1(const Resources &r) {
  for (const auto &h : m_host.hierarchies)
    if (!h.unified) {
      std::string d = dir(h);
      if (!is_dir(d))
        make_dir(d);
      else
        log::debug("cgroup ", d, " exists, empty: joined as runc's mkdir -p does");
      manager(h).made(h, d, m_host.fake);
    }
  apply(r);
}

std::optional<Group> Group::open_dirs(std::string name, const std::vector<std::string> &dirs,
                                      std::vector<std::string> made,
                                      const std::vector<std::string> &spare) {
  Host host = probe();
  Group g(std::move(name), Host{host.mode, host.fake, {}, host.delegated});
  // The hierarchy holding d: the deepest mount it is below.
  auto hierarchy_of = [&](const std::string &d) -> const Hierarchy * {
    const Hierarchy *in = nullptr;
    for (const auto &h : host.hierarchies)
      if (text::starts_with(d, h.mount + "/") && (!in || h.mount.size() > in->mount.size()))
        in = &h;
    return in;
  };
  for (const auto &d : dirs) {
    const Hierarchy *h = hierarchy_of(d);
    if (h && is_dir(d) && !g.m_dirs.count(h->mount)) {
      g.m_host.hierarchies.push_back(*h);
      g.m_dirs[h->mount] = d;
    }
  }
  for (const auto &d : spare)
    if (const Hierarchy *h = hierarchy_of(d))
      g.m_spare.emplace_back(*h, d);
  bool parents =
      std::any_of(made.begin(), made.end(), [](const std::string &d) { return is_dir(d); });
  if (g.m_host.hierarchies.empty() && !parents)
    return std::nullopt;
  g.m_made = std::move(made);
  return g;
}

bool Group::extend(const Resources &r) {
  require_resources(probe(), r, m_name);
  bool v2 = m_host.mode == Mode::v2;
  return join_spare([&](const Hierarchy &h) { return oci_uses(h, r, v2); });
}

bool Group::extend(const Limits &l) {
  return join_spare([&](const Hierarchy &h) {
    return (l.nano_cpus && holds(h, "cpu")) || ((l.memory || l.swap) && holds(h, "memory")) ||
           (l.pids && holds(h, "pids"));
  });
}

bool Group::join_spare(const std::function<bool(const Hierarchy &)> &want) {
  std::vector<std::pair<Hierarchy, std::string>> wanted;
  for (auto it = m_spare.begin(); it != m_spare.end();)
    if (want(it->first)) {
      wanted.push_back(*it);
      it = m_spare.erase(it);
    } else {
      ++it;
    }
  if (wanted.empty())
    return false;
  // Part of the group from its mkdir on, so that what fails below is still recorded and
  // removed with it.
  for (const auto &[h, d] : wanted) {
    make_parents(h, d, nullptr);
    if (!is_dir(d))
      make_dir(d);
    m_host.hierarchies.push_back(h);
    m_dirs[h.mount] = d;
    manager(h).made(h, d, m_host.fake);
  }
  // Frozen, no process forks between reading the list and the last move; a paused group stays
  // paused.
  bool was_frozen = frozen();
  bool froze = false;
  if (!was_frozen && !m_host.fake)
    try {
      freeze(true);
      froze = true;
    } catch (const Error &e) {
      log::debug("moving the processes of cgroup ", m_name, " unfrozen: ", e.what());
    }
  std::vector<pid_t> members = pids();
  for (const auto &[h, d] : wanted)
    for (pid_t pid : members)
      try {
        write_value(d + "/cgroup.procs", std::to_string(pid), m_host.fake);
      } catch (const Error &e) {
        if (e.sys_errno() != ESRCH) { // ESRCH: it exited meanwhile
          if (froze)
            freeze(false);
          throw;
        }
      }
  if (froze)
    freeze(false);
  return true;
}

std::vector<std::string> Group::spare() const {
  std::vector<std::string> out;
  for (const auto &s : m_spare)
    out.push_back(s.second);
  return out;
}

void Group::apply(const Resources &r) {
  require_resources(m_host, r, m_name);
  for (const auto &h : m_host.hierarchies)
    manager(h).apply(h, dir(h), r, m_host.fake);
}

void Group::create_v1(const Limits &limits) {
  for (const auto &h : m_host.hierarchies)
    if (!h.unified)
      make_in(h, nullptr);
  set(limits);
}

void Group::add_unified(pid_t pid) {
  for (const auto &h : m_host.hierarchies)
    if (h.unified)
      write_value(dir(h) + "/cgroup.procs", std::to_string(pid), m_host.fake);
}

Seed Group::seed() const {
  Seed seed;
  for (const auto &h : m_host.hierarchies)
    add_to_seed(seed, h);
  return seed;
}

void place_unified(const Seed &seed, pid_t pid) {
  if (!seed.unified)
    return;
  log::debug("write ", seed.unified_path, "/cgroup.procs ", pid);
  Fd procs(::openat(seed.unified.get(), "cgroup.procs",
                    O_WRONLY | O_CLOEXEC | (seed.fake ? O_CREAT : 0), 0644));
  std::string value = std::to_string(pid);
  if (!procs || ::write(procs.get(), value.data(), value.size()) < 0)
    sys_fail("unable to move process ", pid, " into cgroup ", seed.unified_path);
}

void join_self(const Seed &seed, std::string_view name) {
  for (const auto &[fd, parent] : seed.v1_parents) {
    std::string rel = cat(name, "/tasks");
    log::debug("write ", parent, "/", rel, " 0 (the process moves itself)");
    Fd tasks(::openat(fd.get(), rel.c_str(), O_WRONLY | O_CLOEXEC | (seed.fake ? O_CREAT : 0),
                      0644));
    if (!tasks || ::write(tasks.get(), "0", 1) != 1)
      sys_fail("unable to join cgroup ", parent, "/", name);
  }
}

std::optional<Group> Group::open(std::string_view name, const std::string &delegated) {
  check_name(name);
  Host host = probe();
  if (!delegated.empty() && host.delegated != delegated) {
    auto recorded = recorded_view(probe_mounted(), delegated);
    if (!recorded)
      return std::nullopt;
    host = std::move(*recorded);
  }
  Group g(std::string(name), koker_view(std::move(host)));
  auto &hs = g.m_host.hierarchies;
  // A hierarchy the container was left out of (cpu without a CPU limit) is spare: extend()
  // can join it later.
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [&](const Hierarchy &h) {
                            if (is_dir(g.dir(h)))
                              return false;
                            g.m_spare.emplace_back(h, g.dir(h));
                            return true;
                          }),
           hs.end());
  g.m_remove_spare = true;
  if (hs.empty())
    return std::nullopt;
  return g;
}

void Group::set(const Limits &limits) {
  check_limits(limits);
  require_controllers(m_host, m_dirs, limits, m_name);
  for (const auto &h : m_host.hierarchies)
    manager(h).set(h, dir(h), limits, m_host.fake);
}

void Group::add(pid_t pid) {
  if (pid <= 0)
    fail("unable to add pid ", pid, " to cgroup ", m_name, ": not a process id");
  // v1 trees first: a process that fails to join a limiting controller has not yet left its
  // old unified group either.
  for (const auto &h : m_host.hierarchies)
    write_value(dir(h) + "/cgroup.procs", std::to_string(pid), m_host.fake);
}

Stats Group::stats() const {
  Stats st;
  for (const auto &h : m_host.hierarchies)
    manager(h).stats(h, dir(h), st);
  return st;
}

std::vector<pid_t> Group::pids() const {
  std::set<pid_t> all;
  for (const auto &h : m_host.hierarchies)
    for (const auto &word : text::fields(read_value(dir(h) + "/cgroup.procs").value_or(""), '\n'))
      if (auto n = sys::parse_uint(text::trim(word)); n && *n > 0 && *n < (1u << 31))
        all.insert(static_cast<pid_t>(*n));
  return {all.begin(), all.end()};
}

bool Group::populated() const {
  // Every member joins every hierarchy, so the unified tree's cgroup.events (one read, and
  // it counts descendants too) answers for all of them; v1 has no such file.
  if (!m_host.fake)
    for (const auto &h : m_host.hierarchies)
      if (h.unified)
        if (auto p = read_key(dir(h) + "/cgroup.events", "populated"))
          return *p == 1;
  return !pids().empty();
}

void Group::kill_all(int sig) {
  if (m_host.fake) {
    log::debug("fake cgroup root: no process of cgroup ", m_name, " is signalled");
    return;
  }
  auto members = pids();
  if (std::find(members.begin(), members.end(), ::getpid()) != members.end())
    fail("unable to kill the processes of cgroup ", m_name, ": this process is one of them");
  auto wait_empty = [&] {
    for (int i = 0; i < 250 && populated(); ++i)
      nap_ms(20);
    return !populated();
  };
  // cgroup.kill (Linux 5.14) kills the whole group at once, forks in flight included.
  if (sig == SIGKILL)
    for (const auto &h : m_host.hierarchies)
      if (h.unified && sys::exists(dir(h) + "/cgroup.kill")) {
        write_value(dir(h) + "/cgroup.kill", "1", false);
        if (wait_empty())
          return;
      }
  // Without it, freeze first so that no process forks between reading cgroup.procs and the
  // signal; the signals are delivered on thaw. Repeat until empty, in case of no freezer.
  // Hybrid has two freezers; the v1 one is taken, the same code as on a v1 host.
  const Hierarchy *freezer = nullptr;
  for (const auto &h : m_host.hierarchies)
    if (!freezer && (holds(h, "freezer") || (h.unified && sys::exists(dir(h) + "/cgroup.freeze"))))
      freezer = &h;
  for (int round = 0; round < 50; ++round) {
    bool frozen = freezer && manager(*freezer).freeze(*freezer, dir(*freezer), true);
    if (freezer && !frozen)
      log::debug("cgroup ", m_name, " did not freeze in time; signalling anyway");
    for (pid_t pid : pids()) {
      if (pid <= 1 || pid == ::getpid())
        continue;
      log::debug("kill(", pid, ", ", sig, ")");
      if (::kill(pid, sig) < 0 && errno != ESRCH)
        sys_fail("unable to signal process ", pid, " of cgroup ", m_name);
    }
    if (freezer)
      manager(*freezer).freeze(*freezer, dir(*freezer), false);
    if (sig != SIGKILL)
      return;
    for (int i = 0; i < 10 && populated(); ++i)
      nap_ms(20);
    if (!populated())
      return;
  }
  fail("unable to kill the processes of cgroup ", m_name, ": it is still populated");
}

void Group::freeze(bool frozen) {
  for (const auto &h : m_host.hierarchies)
    if (holds(h, "freezer") || (h.unified && sys::exists(dir(h) + "/cgroup.freeze"))) {
      log::debug(frozen ? "freeze" : "thaw", " cgroup ", dir(h));
      if (!manager(h).freeze(h, dir(h), frozen))
        fail("unable to ", frozen ? "freeze" : "thaw", " cgroup ", dir(h), ": the kernel did not ",
             "finish in time");
      return;
    }
  fail("unable to ", frozen ? "freeze" : "thaw", " cgroup ", m_name, ": no freezer in ",
       describe_dirs(m_host, m_dirs));
}

bool Group::frozen() const {
  for (const auto &h : m_host.hierarchies) {
    if (holds(h, "freezer"))
      return read_value(dir(h) + "/freezer.state").value_or("") == "FROZEN";
    if (h.unified && sys::exists(dir(h) + "/cgroup.freeze"))
      return read_key(dir(h) + "/cgroup.events", "frozen").value_or(0) == 1;
  }
  return false;
}

void Group::remove(bool force) {
  if (populated()) {
    if (!force)
      fail("unable to remove cgroup ", m_name, ": it has processes (", pids().size(),
           " in cgroup.procs; use -f to kill them)");
    kill_all(SIGKILL);
  }
  for (const auto &h : m_host.hierarchies)
    remove_dir(dir(h), m_host.fake);
  // A koker container's group may have been extended by another process (koker-update) into a
  // hierarchy this object left out: its directory goes too.
  if (m_remove_spare)
    for (const auto &[h, d] : m_spare)
      if (is_dir(d))
        remove_dir(d, m_host.fake);
  remove_parents(m_made, m_host.fake);
}

std::vector<std::string> Group::paths() const {
  std::vector<std::string> out;
  for (const auto &h : m_host.hierarchies)
    out.push_back(dir(h));
  return out;
}

std::vector<std::string> list() {
  std::set<std::string> names;
  for (const auto &h : koker_view(probe()).hierarchies) {
    std::string parent = h.mount + "/koker";
    if (!is_dir(parent))
      continue;
    for (const auto &n : sys::list_dir(parent))
      if (valid_name(n) && is_dir(parent + "/" + n))
        names.insert(n);
  }
  return {names.begin(), names.end()};
}

} // namespace koker::cgroup
