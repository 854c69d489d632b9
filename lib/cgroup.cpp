// SPDX-License-Identifier: MIT
// Cgroups on v1, hybrid and v2 hosts. A group is koker/NAME in each hierarchy koker uses;
// each hierarchy is driven by a v1 or a v2 manager (crun's manager table, in small): the v1
// one for the per-controller trees, the v2 one for the unified tree, which in hybrid mode
// holds no controller but still tracks membership, kills (cgroup.kill) and reports
// populated. Kernel interface: Documentation/admin-guide/cgroup-v1/*.rst and cgroup-v2.rst.
#include "cgroup.hpp"
#include "text.hpp"
#include "log.hpp"
#include "sys.hpp"
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <sched.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <cstring>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::cgroup {
namespace {

// The v1 controllers koker uses: limits (memory, cpu, pids), CPU time (cpuacct), device
// rules (devices) and a race-free kill (freezer).
const char *const V1_CONTROLLERS[] = {"memory", "cpu", "cpuacct", "pids", "devices", "freezer"};
// The v2 controllers koker enables, in the order written to cgroup.subtree_control.
const char *const V2_CONTROLLERS[] = {"memory", "pids", "cpu"};

// runc's default device rules plus /dev/console: mknod of anything (m), then the standard
// nodes and the pty slaves. Everything else (disks, /dev/mem, ...) is denied, so a device node
// shipped in an image is useless inside the group.
const char *const DEVICE_RULES[] = {"c *:* m",   "b *:* m",   "c 1:3 rwm",  "c 1:5 rwm",
                                    "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  "c 5:0 rwm",
                                    "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};

bool holds(const Hierarchy &h, std::string_view controller) {
  return std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end();
}

bool is_dir(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// Each value goes in one write(2): the kernel parses each write on its own (devices.allow
// takes one rule per write), and one descriptor serves them all. Under a fake root the file
// is created, since a plain directory has none of the kernel's files, and reopened for each
// value, which replaces the last as the kernel's file would show only the effect.
void write_values(const std::string &path, const std::vector<std::string_view> &values,
                  bool fake) {
  Fd fd;
  for (auto v : values) {
    log::debug("write ", path, " ", v);
    if (!fd || fake) {
      fd = Fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | (fake ? O_CREAT : 0), 0644));
      if (!fd)
        sys_fail("unable to open ", path);
    }
    ssize_t n = ::write(fd.get(), v.data(), v.size());
    if (n < 0)
      sys_fail("unable to write ", v, " to ", path);
    if (static_cast<size_t>(n) != v.size())
      fail("unable to write ", v, " to ", path, ": short write");
  }
}

void write_value(const std::string &path, std::string_view value, bool fake) {
  write_values(path, {value}, fake);
}

std::optional<std::string> read_value(const std::string &path) {
  auto text = sys::read_file_if_exists(path, 1 << 20);
  if (!text)
    return std::nullopt;
  return std::string(text::trim(*text));
}

// A number from a cgroup file; "max" (v2, pids) is UNLIMITED.
std::optional<uint64_t> read_u64(const std::string &path) {
  auto text = read_value(path);
  if (!text)
    return std::nullopt;
  if (*text == "max")
    return UNLIMITED;
  return sys::parse_uint(*text);
}

// The value of KEY in a flat-keyed file such as memory.stat or memory.events ("KEY VALUE").
std::optional<uint64_t> read_key(const std::string &path, std::string_view key) {
  auto text = read_value(path);
  if (!text)
    return std::nullopt;
  for (const auto &line : text::fields(*text, '\n')) {
    auto words = text::fields(line, ' ');
    if (words.size() == 2 && words[0] == key)
      return sys::parse_uint(words[1]);
  }
  return std::nullopt;
}

// A group's own directory: one that exists already is someone else's, and refused.
void make_dir(const std::string &path) {
  log::debug("mkdir ", path);
  if (::mkdir(path.c_str(), 0755) == 0)
    return;
  if (errno == EEXIST)
    fail("unable to create cgroup ", path, ": it already exists");
  sys_fail("unable to create cgroup ", path);
}

// rmdir(2) is all a real cgroup needs; the kernel's files go with it. It fails with EBUSY for
// a moment after the last process died, so it is retried. A fake cgroup holds plain files.
void remove_dir(const std::string &path, bool fake) {
  if (fake)
    for (const auto &f : sys::list_dir(path))
      if (!is_dir(path + "/" + f))
        ::unlink((path + "/" + f).c_str());
  log::debug("rmdir ", path);
  for (int i = 0;; ++i) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT)
      return;
    if (errno != EBUSY || i == 100)
      sys_fail("unable to remove cgroup ", path);
    nap_ms(20);
  }
}

// ---------------------------------------------------------------- the two managers

class Manager {
public:
  virtual ~Manager() = default;
  // Before koker/NAME is made: the koker parent, and on v2 the controllers it hands down.
  virtual void prepare(const Hierarchy &h, bool fake) const = 0;
  // After koker/NAME is made: device rules.
  virtual void init(const Hierarchy &h, const std::string &dir, Mode mode, bool fake) const = 0;
  virtual void set(const Hierarchy &h, const std::string &dir, const Limits &l,
                   bool fake) const = 0;
  // Fills the members of st this hierarchy knows and st does not have yet.
  virtual void stats(const Hierarchy &h, const std::string &dir, Stats &st) const = 0;
  // Freezes or thaws dir and waits until the kernel says so; false if it cannot.
  virtual bool freeze(const Hierarchy &h, const std::string &dir, bool frozen) const = 0;
};

// koker/ itself, shared by every group: made once, when missing.
void make_parent(const Hierarchy &h) {
  std::string parent = h.mount + "/koker";
  if (::mkdir(parent.c_str(), 0755) == 0)
    log::debug("mkdir ", parent);
  else if (errno != EEXIST)
    sys_fail("unable to create cgroup ", parent);
}

// Polls path until its value (or its KEY line) reads want, for up to a second.
bool wait_for(const std::string &path, std::string_view key, std::string_view want) {
  for (int i = 0; i < 100; ++i) {
    auto text = read_value(path);
    if (!text)
      return false;
    if (key.empty() ? *text == want : read_key(path, key) == sys::parse_uint(want))
      return true;
    nap_ms(10);
  }
  return false;
}

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

const V1Manager V1;
const V2Manager V2;

const Manager &manager(const Hierarchy &h) {
  if (h.unified)
    return V2;
  return V1;
}

// ---------------------------------------------------------------- probing the host

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string unescape_mountinfo(std::string_view s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<std::string> koker_v1_controllers(const std::vector<std::string> &names) {
  std::vector<std::string> out;
  for (const char *c : V1_CONTROLLERS)
    if (std::find(names.begin(), names.end(), c) != names.end())
      out.emplace_back(c);
  return out;
}

std::vector<std::string> v2_controllers(const std::string &mount) {
  auto names = text::fields(read_value(mount + "/cgroup.controllers").value_or(""), ' ');
  std::vector<std::string> out;
  for (const char *c : V2_CONTROLLERS)
    if (std::find(names.begin(), names.end(), c) != names.end())
      out.emplace_back(c);
  return out;
}

Host finish(Host host, std::optional<std::string> unified, std::string_view where) {
  if (!host.hierarchies.empty()) {
    host.mode = unified ? Mode::hybrid : Mode::v1;
    if (unified)
      host.hierarchies.push_back({*unified, {}, true});
  } else if (unified) {
    host.mode = Mode::v2;
    host.hierarchies.push_back({*unified, v2_controllers(*unified), true});
  } else {
    fail("unable to find cgroups: no cgroup hierarchy in ", where);
  }
  for (const auto &h : host.hierarchies) {
    std::string ctl;
    for (const auto &c : h.controllers)
      ctl += cat(ctl.empty() ? "" : ",", c);
    log::debug("cgroup ", h.unified ? "v2" : "v1", " hierarchy ", h.mount, ctl.empty() ? "" : " (",
               ctl, ctl.empty() ? "" : ")");
  }
  return host;
}

// A fake root is read by its shape only, never from the real mount table.
Host probe_fake(const std::string &root) {
  Host host;
  host.fake = true;
  if (!is_dir(root))
    fail("unable to use KOKER_CGROUP_ROOT ", root, ": not a directory");
  if (sys::exists(root + "/cgroup.controllers"))
    return finish(host, root, root);
  std::optional<std::string> unified;
  auto names = sys::list_dir(root);
  std::sort(names.begin(), names.end());
  for (const auto &name : names) {
    std::string path = root + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
      continue; // "cpu -> cpu,cpuacct" symlinks name a hierarchy twice
    if (sys::exists(path + "/cgroup.controllers")) {
      if (!unified)
        unified = path;
      continue;
    }
    auto ctl = koker_v1_controllers(text::fields(name, ','));
    if (!ctl.empty())
      host.hierarchies.push_back({path, ctl, false});
  }
  return finish(host, unified, root);
}

// /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SRC SUPER"
// (proc(5)). A v1 hierarchy's controllers are in its super options ("rw,cpu,cpuacct").
Host probe_mounts() {
  Host host;
  std::optional<std::string> unified;
  for (const auto &line : text::fields(sys::read_file("/proc/self/mountinfo"), '\n')) {
    auto fields = text::fields(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4)
      continue;
    const std::string &fstype = dash[1];
    std::string mount = unescape_mountinfo(fields[4]);
    if (fstype == "cgroup2" && !unified)
      unified = mount;
    if (fstype != "cgroup")
      continue;
    auto ctl = koker_v1_controllers(text::fields(dash[3], ','));
    bool seen = std::any_of(host.hierarchies.begin(), host.hierarchies.end(),
                            [&](const Hierarchy &h) { return h.controllers == ctl; });
    if (!ctl.empty() && !seen)
      host.hierarchies.push_back({mount, ctl, false});
  }
  return finish(host, unified, "/proc/self/mountinfo");
}

std::string describe_dirs(const Host &host, std::string_view name) {
  std::string s;
  for (const auto &h : host.hierarchies)
    s += cat(s.empty() ? "" : ", ", h.mount, "/koker/", name);
  return s;
}

// Refuses limits no hierarchy of host can apply, before anything is written.
void require_controllers(const Host &host, const Limits &l, std::string_view name) {
  auto check_one = [&](bool wanted, const char *controller, const char *what) {
    if (!wanted)
      return;
    for (const auto &h : host.hierarchies)
      if (holds(h, controller))
        return;
    fail("unable to limit ", what, " of cgroup ", name, ": no ", controller, " controller in ",
         describe_dirs(host, name));
  };
  check_one(l.memory || l.swap, "memory", "the memory");
  check_one(l.nano_cpus.has_value(), "cpu", "the CPUs");
  check_one(l.pids.has_value(), "pids", "the processes");
}

[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why) {
  fail("invalid ", option, " value '", printable(value, 40), "': ", why);
}

} // namespace

// ---------------------------------------------------------------- public API

Host probe() {
  // Once per process (and per KOKER_CGROUP_ROOT): koker-run asks when it makes the group
  // and again when it removes it, and reading mountinfo is not free.
  static std::optional<std::pair<std::string, Host>> cached;
  std::string fake = sys::env("KOKER_CGROUP_ROOT");
  if (cached && cached->first == fake)
    return cached->second;
  Host host;
  if (!fake.empty()) {
    log::debug("fake cgroup root ", fake, " (KOKER_CGROUP_ROOT)");
    host = probe_fake(fake);
  } else {
    host = probe_mounts();
  }
  cached.emplace(fake, host);
  return host;
}

Mode detect() { return probe().mode; }

std::string mode_name(Mode mode) {
  switch (mode) {
  case Mode::v1:
    return "v1";
  case Mode::hybrid:
    return "hybrid";
  case Mode::v2:
    return "v2";
  }
  return "?";
}

uint64_t parse_size(std::string_view text) {
  const std::string_view opt = "size";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "a size cannot be negative");
  size_t i = 0;
  uint64_t whole = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > (UINT64_MAX - 9) / 10)
      bad_value(opt, text, "too large");
    whole = whole * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0)
    bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  std::string frac;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      frac.push_back(text[i]);
    if (frac.empty())
      bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  }
  if (i < text.size() && text[i] == ' ')
    ++i;
  // go-units' RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, powers of 1024.
  uint64_t mult = 1;
  static const std::string_view units = "kmgtp";
  if (i < text.size()) {
    auto u = units.find(static_cast<char>(text[i] | 0x20));
    if (u != std::string_view::npos) {
      mult = uint64_t(1) << (10 * (u + 1));
      ++i;
    }
  }
  if (mult > 1 && i < text.size() && (text[i] | 0x20) == 'i')
    ++i;
  if (i < text.size() && (text[i] | 0x20) == 'b')
    ++i;
  if (i != text.size())
    bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  const uint64_t max = (uint64_t(1) << 63) - 1;
  if (whole > max / mult)
    bad_value(opt, text, "too large (at most 8 EiB)");
  uint64_t bytes = whole * mult;
  // The fraction, truncated to whole bytes. long double holds 64 bits of mantissa: exact for
  // the fractions people write ("1.5g"), as docker's float64 arithmetic is.
  if (!frac.empty()) {
    frac.resize(std::min<size_t>(frac.size(), 18));
    long double f = static_cast<long double>(*sys::parse_uint(frac));
    for (size_t k = 0; k < frac.size(); ++k)
      f /= 10;
    bytes += static_cast<uint64_t>(f * static_cast<long double>(mult));
  }
  if (bytes > max)
    bad_value(opt, text, "too large (at most 8 EiB)");
  if (bytes == 0)
    bad_value(opt, text, "must be greater than 0");
  return bytes;
}

uint64_t parse_mib(std::string_view text, bool allow_zero) {
  const std::string_view opt = "MiB";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "cannot be negative");
  auto n = sys::parse_uint(text);
  if (!n)
    bad_value(opt, text, "not a whole number of MiB");
  if (*n == 0 && !allow_zero)
    bad_value(opt, text, "must be greater than 0");
  if (*n > ((uint64_t(1) << 63) - 1) >> 20)
    bad_value(opt, text, "too large (at most 8 EiB)");
  return *n << 20;
}

uint64_t parse_cpus(std::string_view text, unsigned cpus) {
  const std::string_view opt = "CPUs";
  std::string range = cat("range of CPUs is from 0.01 to ", cpus, ".00, as there are only ", cpus,
                          " CPUs available");
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, range);
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto w = sys::parse_uint(whole);
  bool digits = std::all_of(frac.begin(), frac.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!w || !digits || (dot != std::string_view::npos && frac.empty()))
    bad_value(opt, text, "not a number of CPUs (such as 0.5 or 2)");
  if (frac.size() > 9)
    bad_value(opt, text, "too precise (at most 9 decimals)");
  if (*w > cpus)
    bad_value(opt, text, range);
  uint64_t nano = *w * 1000000000ULL;
  uint64_t scale = 100000000ULL;
  for (char c : frac) {
    nano += static_cast<uint64_t>(c - '0') * scale;
    scale /= 10;
  }
  if (nano < 10000000ULL || nano > uint64_t(cpus) * 1000000000ULL)
    bad_value(opt, text, range);
  return nano;
}

uint64_t parse_pids(std::string_view text) {
  const std::string_view opt = "pids";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "cannot be negative");
  auto n = sys::parse_uint(text);
  if (!n)
    bad_value(opt, text, "not a whole number");
  if (*n == 0)
    bad_value(opt, text, "must be at least 1");
  if (*n > MAX_PIDS)
    bad_value(opt, text, cat("at most ", MAX_PIDS, " (the kernel's PID_MAX_LIMIT)"));
  return *n;
}

unsigned host_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

void parse_limit_option(Limits &limits, std::string_view option, std::string_view value) {
  // The parsers name the unit; say which option it was instead.
  try {
    if (option == "--mem")
      limits.memory = parse_mib(value);
    else if (option == "-m" || option == "--memory")
      limits.memory = parse_size(value);
    else if (option == "--swap")
      limits.swap = parse_mib(value, true); // 0: no swap at all, a real choice
    else if (option == "--cpus")
      limits.nano_cpus = parse_cpus(value, host_cpus());
    else if (option == "--pids" || option == "--pids-limit")
      limits.pids = parse_pids(value);
    else
      throw std::invalid_argument(cat("parse_limit_option: unknown option ", option));
  } catch (const Error &e) {
    std::string msg = e.what();
    auto quote = msg.find(" value '");
    fail("invalid ", option, msg.substr(quote));
  }
}

void check_limits(const Limits &l) {
  if (l.swap && !l.memory)
    fail("invalid limits: --swap needs a memory limit (--mem or --memory) beside it");
  if (l.memory && *l.memory < MIN_MEMORY)
    fail("invalid memory limit of ", *l.memory, " bytes: the minimum is 6MiB, as docker's");
  if (l.memory && l.swap && *l.swap > ((uint64_t(1) << 63) - 1) - *l.memory)
    fail("invalid limits: memory plus swap is above 8 EiB");
  if (l.memory && !l.swap && *l.memory > ((uint64_t(1) << 62) - 1))
    fail("invalid limits: memory plus swap (as much as memory) is above 8 EiB");
}

bool valid_name(std::string_view name) {
  // docker's name rule, which already excludes '/'; ".." is refused as well, as a path part.
  return text::is_name(name) && name.find("..") == std::string_view::npos;
}

void check_name(std::string_view name) {
  if (!valid_name(name))
    fail("invalid cgroup name '", printable(name, 40),
         "': only [a-zA-Z0-9][a-zA-Z0-9_.-]* of at most 128 characters, without '..'");
}

std::string Group::dir(const Hierarchy &h) const { return cat(h.mount, "/koker/", m_name); }

Group Group::checked(std::string_view name, const Limits &limits) {
  check_name(name);
  check_limits(limits);
  Group g(std::string(name), probe());
  require_controllers(g.m_host, limits, name);
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
  std::string d = h.unified ? dir(h) : h.mount + "/koker";
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
    if (!needed(h))
      log::debug("cgroup: no use for ", h.mount, " in this container");
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

pid_t fork_into(const Seed &seed, unsigned long clone_flags, bool *placed) {
  *placed = false;
  if (seed.unified && !seed.fake) {
    struct clone_args args {};
    args.flags = clone_flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(seed.unified.get());
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *placed = true;
      return static_cast<pid_t>(pid);
    }
    log::debug("clone3(CLONE_INTO_CGROUP): ", std::strerror(errno), "; clone(2) instead");
  }
  return static_cast<pid_t>(
      ::syscall(SYS_clone, clone_flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
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

std::optional<Group> Group::open(std::string_view name) {
  check_name(name);
  Group g(std::string(name), probe());
  auto &hs = g.m_host.hierarchies;
  hs.erase(
      std::remove_if(hs.begin(), hs.end(), [&](const Hierarchy &h) { return !is_dir(g.dir(h)); }),
      hs.end());
  if (hs.empty())
    return std::nullopt;
  return g;
}

void Group::set(const Limits &limits) {
  check_limits(limits);
  require_controllers(m_host, limits, m_name);
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

void Group::remove(bool force) {
  if (populated()) {
    if (!force)
      fail("unable to remove cgroup ", m_name, ": it has processes (", pids().size(),
           " in cgroup.procs; use -f to kill them)");
    kill_all(SIGKILL);
  }
  for (const auto &h : m_host.hierarchies)
    remove_dir(dir(h), m_host.fake);
}

std::vector<std::string> Group::paths() const {
  std::vector<std::string> out;
  for (const auto &h : m_host.hierarchies)
    out.push_back(dir(h));
  return out;
}

std::vector<std::string> list() {
  std::set<std::string> names;
  for (const auto &h : probe().hierarchies) {
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
