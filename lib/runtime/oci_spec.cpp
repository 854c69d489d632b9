// SPDX-License-Identifier: MIT
#include "runtime/oci_spec.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "runtime/caps.hpp"
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <sys/mount.h>
#include <sys/resource.h>

namespace koker::oci {

namespace {

// A json::Fields and where its object sits in the document, for what Fields does not read
// itself: arrays of objects, maps of strings, unsigned 64-bit numbers, ranges and names. Every
// message has Fields' shape, naming the member by its path from the top of the document:
// invalid config.json: "linux.seccomp.syscalls[3].args[0].value" is a string, not a number.
class Obj {
public:
  Obj(const json::Value *v, std::string what) : m_fields(v, what), m_what(std::move(what)) {}

  // The member key, an object (absent or null: every member absent).
  Obj object(std::string_view key) const { return Obj(m_fields.object(key), *this, key); }

  // The elements of the array member key, each an object, named "mounts[2]" in messages so
  // that their own members are "mounts[2].options".
  std::vector<Obj> objects(std::string_view key) const {
    std::vector<Obj> out;
    const json::Value *v = array(key);
    if (!v)
      return out;
    for (size_t i = 0; i < v->items().size(); i++) {
      std::string path = cat(m_path, key, "[", i, "]");
      Obj o(m_fields.element(v->items()[i], path), *this, "");
      o.m_path = path + ".";
      out.push_back(std::move(o));
    }
    return out;
  }

  bool has(std::string_view key) const {
    const json::Value *v = m_fields.find(key);
    return v && !v->is_null();
  }
  std::string string(std::string_view key, std::string_view fallback = "") const {
    return m_fields.string(key, fallback);
  }
  std::vector<std::string> strings(std::string_view key) const { return m_fields.strings(key); }
  bool boolean(std::string_view key, bool fallback = false) const {
    return m_fields.boolean(key, fallback);
  }
  int64_t integer(std::string_view key, int64_t fallback = 0) const {
    return m_fields.integer(key, fallback);
  }
  // A whole number from lo to hi.
  int64_t integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
    int64_t v = m_fields.integer(key, fallback);
    if (v < lo || v > hi)
      bad(key, cat("is out of range (", lo, " to ", hi, ")"));
    return v;
  }
  template <class T> std::optional<T> optional(std::string_view key) const {
    if (!has(key))
      return std::nullopt;
    return static_cast<T>(integer(key, 0, std::numeric_limits<T>::min(),
                                  static_cast<int64_t>(std::numeric_limits<T>::max())));
  }
  uint32_t u32(std::string_view key, uint32_t fallback = 0) const {
    return static_cast<uint32_t>(integer(key, fallback, 0, UINT32_MAX));
  }
  // A whole number from 0 to 2^64-1: rlimits (RLIM_INFINITY), seccomp arguments and masks,
  // which json's int64_t cannot hold. The number's text is read again, digits only.
  uint64_t u64(std::string_view key, uint64_t fallback = 0) const {
    const json::Value *v = m_fields.find(key);
    if (!v || v->is_null())
      return fallback;
    if (!v->is_number())
      bad(key, cat("is ", json::type_name(v->type()), ", not a number"));
    std::string text = v->dump();
    if (!text::all(text, text::is_digit))
      bad(key, "is not a whole number from 0 to 18446744073709551615");
    errno = 0;
    unsigned long long n = std::strtoull(text.c_str(), nullptr, 10);
    if (errno)
      bad(key, "is not a whole number from 0 to 18446744073709551615");
    return n;
  }
  std::optional<uint64_t> optional_u64(std::string_view key) const {
    if (!has(key))
      return std::nullopt;
    return u64(key);
  }
  // An object whose members are all strings (annotations, sysctl).
  std::map<std::string, std::string> string_map(std::string_view key) const {
    std::map<std::string, std::string> out;
    const json::Value *v = m_fields.find(key);
    if (!v || v->is_null())
      return out;
    if (!v->is_object())
      bad(key, cat("is ", json::type_name(v->type()), ", not an object"));
    Obj o = object(key);
    for (const auto &m : v->members())
      out[m.first] = o.m_fields.string(m.first); // a string, or an Error naming the member
    return out;
  }
  // The array member key, each element a number from 0 to 2^32-1.
  std::vector<uint32_t> u32s(std::string_view key) const {
    std::vector<uint32_t> out;
    const json::Value *v = array(key);
    if (!v)
      return out;
    for (const auto &item : v->items()) {
      int64_t n = -1;
      if (item.is_number()) {
        try {
          n = item.as_int();
        } catch (const Error &) {
        }
      }
      if (n < 0 || n > UINT32_MAX)
        bad(key, "holds something else than whole numbers from 0 to 4294967295");
      out.push_back(static_cast<uint32_t>(n));
    }
    return out;
  }

  // The dotted name of member key, for messages.
  std::string name(std::string_view key) const { return cat(m_path, key); }
  [[noreturn]] void bad(std::string_view key, const std::string &why) const {
    fail("invalid ", m_what, ": \"", m_path, key, "\" ", why);
  }

private:
  Obj(json::Fields fields, const Obj &parent, std::string_view key)
      : m_fields(std::move(fields)), m_what(parent.m_what), m_path(cat(parent.m_path, key, ".")) {}

  const json::Value *array(std::string_view key) const {
    const json::Value *v = m_fields.find(key);
    if (!v || v->is_null())
      return nullptr;
    if (!v->is_array())
      bad(key, cat("is ", json::type_name(v->type()), ", not an array"));
    return v;
  }

  json::Fields m_fields;
  std::string m_what, m_path;
};

// runc's names (libcontainer/specconv): getrlimit(2)'s resources.
struct NamedInt {
  const char *name;
  int value;
};
constexpr NamedInt RLIMITS[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

// Mount options as runc's mountFlags maps them: a flag set, or one cleared ("rw", "suid").
// "acl" is left out as in runc (MS_POSIXACL is the file system's to decide, runc#3738) and goes
// to the data like any unknown option; "defaults" means nothing.
struct MountFlag {
  const char *name;
  bool clear;
  unsigned long flag;
};
constexpr MountFlag MOUNT_FLAGS[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

// runc's recAttrFlags: mount_setattr(2) attributes for the whole tree under a mount.
constexpr MountFlag REC_ATTRS[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// runc's mountPropagationMapping, also the values of linux.rootfsPropagation.
struct Propagation {
  const char *name;
  unsigned long flags;
};
constexpr Propagation PROPAGATIONS[] = {
    {"rprivate", MS_PRIVATE | MS_REC},       {"private", MS_PRIVATE},
    {"rslave", MS_SLAVE | MS_REC},           {"slave", MS_SLAVE},
    {"rshared", MS_SHARED | MS_REC},         {"shared", MS_SHARED},
    {"runbindable", MS_UNBINDABLE | MS_REC}, {"unbindable", MS_UNBINDABLE},
};

constexpr const char *NAMESPACES[] = {"pid", "network", "mount",  "ipc",
                                      "uts", "user",    "cgroup", "time"};

constexpr const char *SECCOMP_ACTIONS[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
constexpr const char *SECCOMP_OPS[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                       "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                       "SCMP_CMP_MASKED_EQ"};

template <class List> bool listed(const List &list, std::string_view name) {
  for (const char *n : list)
    if (name == n)
      return true;
  return false;
}

void parse_mount_options(Mount &m) {
  std::string data;
  for (const auto &o : m.options) {
    bool done = false;
    for (const auto &f : MOUNT_FLAGS) {
      if (o != f.name)
        continue;
      if (f.clear) {
        m.flags &= ~f.flag;
        m.clear_flags |= f.flag;
      } else {
        m.flags |= f.flag;
        m.clear_flags &= ~f.flag;
      }
      done = true;
      break;
    }
    for (const auto &p : PROPAGATIONS)
      if (!done && o == p.name) {
        m.propagation = p.flags; // the last one given wins
        done = true;
      }
    for (const auto &f : REC_ATTRS) {
      if (done || o != f.name)
        continue;
      if (f.clear) {
        m.rec_attr_clr |= f.flag;
        m.rec_attr_set &= ~uint64_t{f.flag};
      } else {
        m.rec_attr_set |= f.flag;
        m.rec_attr_clr &= ~uint64_t{f.flag};
        // mount_setattr(2): an access-time mode is set only with MOUNT_ATTR__ATIME cleared.
        if ((f.flag & MOUNT_ATTR__ATIME) == f.flag)
          m.rec_attr_clr |= MOUNT_ATTR__ATIME;
      }
      done = true;
    }
    if (!done && o == "tmpcopyup") {
      // runc's extension: copy what the image has under a tmpfs's mount point into it.
      // podman and containerd never send it; koker mounts the tmpfs empty.
      log::debug("mount ", printable(m.destination), ": option tmpcopyup ignored");
      done = true;
    }
    if (!done) // a file system's own option: "mode=755", "size=65536k", "newinstance"
      data += data.empty() ? o : "," + o;
  }
  m.data = data;
  m.bind = m.type == "bind" || (m.flags & MS_BIND);
  m.recursive = m.flags & MS_REC;
  // MS_BIND and MS_REC say bind and recursive; flags keep the rest for mount(2) and remounts.
  m.flags &= ~(MS_BIND | MS_REC);
}

User parse_user(const Obj &u) {
  User user;
  user.uid = u.u32("uid");
  user.gid = u.u32("gid");
  if (u.has("umask"))
    user.umask = static_cast<uint32_t>(u.integer("umask", 0, 0, 07777));
  user.additional_gids = u.u32s("additionalGids");
  return user;
}

uint64_t parse_cap_set(const Obj &caps, std::string_view key) {
  uint64_t set = 0;
  for (const auto &n : caps.strings(key)) {
    // The spec's names only: "CAP_CHOWN", as runc and libcap write them.
    auto cap = caps::from_name(n);
    if (!cap || caps::name(*cap) != n)
      caps.bad(key, cat("names an unknown capability: ", printable(n)));
    set |= uint64_t{1} << *cap;
  }
  return set;
}

Process parse_process_obj(const Obj &p) {
  Process proc;
  proc.terminal = p.boolean("terminal");
  Obj console = p.object("consoleSize");
  proc.console_height = console.u32("height");
  proc.console_width = console.u32("width");
  proc.args = p.strings("args");
  proc.env = p.strings("env");
  proc.cwd = p.string("cwd", "/");
  if (!text::starts_with(proc.cwd, "/"))
    p.bad("cwd", cat("is not an absolute path: ", printable(proc.cwd)));
  proc.user = parse_user(p.object("user"));
  Obj caps = p.object("capabilities");
  proc.caps.bounding = parse_cap_set(caps, "bounding");
  proc.caps.effective = parse_cap_set(caps, "effective");
  proc.caps.inheritable = parse_cap_set(caps, "inheritable");
  proc.caps.permitted = parse_cap_set(caps, "permitted");
  proc.caps.ambient = parse_cap_set(caps, "ambient");
  for (const auto &r : p.objects("rlimits")) {
    Rlimit lim;
    std::string type = r.string("type");
    bool known = false;
    for (const auto &n : RLIMITS)
      if (type == n.name) {
        lim.resource = n.value;
        known = true;
      }
    if (!known)
      r.bad("type", cat("names an unknown resource: ", printable(type)));
    // The runtime-spec: "If rlimits contains duplicated entries with same type, the runtime MUST
    // generate an error."
    for (const auto &seen : proc.rlimits)
      if (seen.resource == lim.resource)
        r.bad("type", cat("repeats ", type));
    lim.soft = r.u64("soft");
    lim.hard = r.u64("hard");
    proc.rlimits.push_back(lim);
  }
  proc.no_new_privileges = p.boolean("noNewPrivileges");
  proc.oom_score_adj = p.optional<int>("oomScoreAdj");
  proc.apparmor_profile = p.string("apparmorProfile");
  proc.selinux_label = p.string("selinuxLabel");
  return proc;
}

std::vector<Hook> parse_hook_list(const Obj &hooks, std::string_view key) {
  std::vector<Hook> out;
  for (const auto &h : hooks.objects(key)) {
    Hook hook;
    hook.path = h.string("path");
    if (hook.path.empty())
      h.bad("path", "is missing");
    // The runtime-spec: "path MUST be absolute" (a relative one would depend on koker-oci's
    // working directory, which differs between create, start and delete).
    if (hook.path[0] != '/')
      h.bad("path", cat("is not an absolute path: ", printable(hook.path)));
    hook.args = h.strings("args");
    if (h.has("env"))
      hook.env = h.strings("env");
    hook.timeout_s = h.optional<int>("timeout");
    if (hook.timeout_s && *hook.timeout_s <= 0)
      h.bad("timeout", "is not greater than zero");
    out.push_back(std::move(hook));
  }
  return out;
}

Hooks parse_hooks_obj(const Obj &top) {
  Obj hooks = top.object("hooks");
  Hooks h;
  h.prestart = parse_hook_list(hooks, "prestart");
  h.create_runtime = parse_hook_list(hooks, "createRuntime");
  h.create_container = parse_hook_list(hooks, "createContainer");
  h.start_container = parse_hook_list(hooks, "startContainer");
  h.poststart = parse_hook_list(hooks, "poststart");
  h.poststop = parse_hook_list(hooks, "poststop");
  return h;
}

std::vector<IdMapping> parse_id_mappings(const Obj &linux, std::string_view key) {
  std::vector<IdMapping> out;
  for (const auto &m : linux.objects(key))
    out.push_back({m.u32("containerID"), m.u32("hostID"), m.u32("size")});
  return out;
}

Resources parse_resources(const Obj &r) {
  Resources res;
  Obj memory = r.object("memory");
  res.memory_limit = memory.optional<int64_t>("limit");
  res.memory_reservation = memory.optional<int64_t>("reservation");
  res.memory_swap = memory.optional<int64_t>("swap");
  res.memory_kernel = memory.optional<int64_t>("kernel");
  res.memory_kernel_tcp = memory.optional<int64_t>("kernelTCP");
  res.memory_swappiness = memory.optional_u64("swappiness");
  if (memory.has("disableOOMKiller"))
    res.disable_oom_killer = memory.boolean("disableOOMKiller");
  Obj cpu = r.object("cpu");
  res.cpu_shares = cpu.optional_u64("shares");
  res.cpu_period = cpu.optional_u64("period");
  res.cpu_quota = cpu.optional<int64_t>("quota");
  res.cpu_rt_runtime = cpu.optional<int64_t>("realtimeRuntime");
  res.cpu_rt_period = cpu.optional_u64("realtimePeriod");
  res.cpuset_cpus = cpu.string("cpus");
  res.cpuset_mems = cpu.string("mems");
  res.pids_limit = r.object("pids").optional<int64_t>("limit");
  Obj blkio = r.object("blockIO");
  res.blkio_weight = blkio.optional<uint16_t>("weight");
  res.blkio_leaf_weight = blkio.optional<uint16_t>("leafWeight");
  for (const auto &d : blkio.objects("weightDevice"))
    res.blkio_weight_device.push_back({d.integer("major"), d.integer("minor"),
                                       d.optional<uint16_t>("weight"),
                                       d.optional<uint16_t>("leafWeight")});
  auto throttles = [&](std::string_view key) {
    std::vector<cgroup::ThrottleDevice> out;
    for (const auto &d : blkio.objects(key))
      out.push_back({d.integer("major"), d.integer("minor"), d.u64("rate")});
    return out;
  };
  res.blkio_throttle_read_bps = throttles("throttleReadBpsDevice");
  res.blkio_throttle_write_bps = throttles("throttleWriteBpsDevice");
  res.blkio_throttle_read_iops = throttles("throttleReadIOPSDevice");
  res.blkio_throttle_write_iops = throttles("throttleWriteIOPSDevice");
  for (const auto &l : r.objects("hugepageLimits")) {
    cgroup::HugepageLimit limit{l.string("pageSize"), l.u64("limit")};
    // The size names a file (hugetlb.<size>.limit_in_bytes): "2MB", "1GB", "64KB".
    if (limit.page_size.empty() || !text::all(limit.page_size, text::is_alnum))
      l.bad("pageSize", cat("is not a page size such as 2MB: ", printable(limit.page_size)));
    res.hugepage_limits.push_back(std::move(limit));
  }
  Obj network = r.object("network");
  res.net_cls_classid = network.optional<uint32_t>("classID");
  for (const auto &p : network.objects("priorities")) {
    cgroup::InterfacePriority prio{p.string("name"), p.u32("priority")};
    // One line of net_prio.ifpriomap: an interface name, no blank.
    if (prio.name.empty() || !text::is_hostname(prio.name))
      p.bad("name", cat("is not an interface name: ", printable(prio.name)));
    res.net_prio_ifpriomap.push_back(std::move(prio));
  }
  for (const auto &d : r.objects("devices")) {
    DeviceRule rule;
    rule.allow = d.boolean("allow");
    rule.type = d.string("type", "a");
    if (rule.type != "a" && rule.type != "c" && rule.type != "b")
      d.bad("type", cat("is not \"a\", \"c\" or \"b\": ", printable(rule.type)));
    // -1 is runc's wildcard, which some writers spell out.
    rule.major = d.optional<int64_t>("major");
    if (rule.major && *rule.major < 0)
      rule.major.reset();
    rule.minor = d.optional<int64_t>("minor");
    if (rule.minor && *rule.minor < 0)
      rule.minor.reset();
    rule.access = d.string("access", "rwm");
    if (rule.access.empty())
      rule.access = "rwm";
    if (!text::all(rule.access, [](char c) { return c == 'r' || c == 'w' || c == 'm'; }))
      d.bad("access", cat("is not made of r, w and m: ", printable(rule.access)));
    res.devices.push_back(std::move(rule));
  }
  res.unified = r.string_map("unified");
  return res;
}

Seccomp parse_seccomp(const Obj &s) {
  Seccomp sec;
  sec.default_action = s.string("defaultAction");
  if (!listed(SECCOMP_ACTIONS, sec.default_action))
    s.bad("defaultAction", cat("names an unknown action: ", printable(sec.default_action)));
  // The runtime-spec (seccomp): an errnoRet on an action that returns no errno is an error.
  auto errno_ret = [](const Obj &o, std::string_view key,
                      const std::string &action) -> std::optional<unsigned> {
    if (!o.has(key))
      return std::nullopt;
    auto v = static_cast<unsigned>(o.integer(key, 0, 0, 0xffff));
    if (action != "SCMP_ACT_ERRNO" && action != "SCMP_ACT_TRACE")
      o.bad(key, cat("is given for ", action, ", which returns no errno"));
    return v;
  };
  sec.default_errno_ret = errno_ret(s, "defaultErrnoRet", sec.default_action);
  sec.architectures = s.strings("architectures");
  sec.flags = s.strings("flags");
  for (const auto &r : s.objects("syscalls")) {
    SeccompRule rule;
    rule.names = r.strings("names");
    if (rule.names.empty())
      r.bad("names", "is missing or empty");
    rule.action = r.string("action");
    if (!listed(SECCOMP_ACTIONS, rule.action))
      r.bad("action", cat("names an unknown action: ", printable(rule.action)));
    rule.errno_ret = errno_ret(r, "errnoRet", rule.action);
    for (const auto &a : r.objects("args")) {
      SeccompArg arg;
      arg.index = static_cast<unsigned>(a.integer("index", 0, 0, 5)); // six arguments
      arg.value = a.u64("value");
      arg.value_two = a.u64("valueTwo");
      arg.op = a.string("op");
      if (!listed(SECCOMP_OPS, arg.op))
        a.bad("op", cat("names an unknown operator: ", printable(arg.op)));
      rule.args.push_back(arg);
    }
    sec.syscalls.push_back(std::move(rule));
  }
  return sec;
}

} // namespace

bool Spec::has_namespace(std::string_view type) const { return find_namespace(type) != nullptr; }

const Namespace *Spec::find_namespace(std::string_view type) const {
  for (const auto &ns : namespaces)
    if (ns.type == type)
      return &ns;
  return nullptr;
}

Hooks parse_hooks(const json::Value &doc, std::string_view what) {
  return parse_hooks_obj(Obj(&doc, std::string(what)));
}

Resources parse_resources(std::string_view text, std::string_view what) {
  json::Value doc = json::parse(text, what);
  return parse_resources(Obj(&doc, std::string(what)));
}

Process parse_process(std::string_view text, std::string_view what) {
  json::Value doc = json::parse(text, what);
  return parse_process_obj(Obj(&doc, std::string(what)));
}

std::string rlimit_name(int resource) {
  for (const auto &r : RLIMITS)
    if (r.value == resource)
      return r.name;
  return std::to_string(resource);
}

Spec parse_spec(std::string_view text, std::string_view what) {
  return spec_from(json::parse(text, what), what);
}

Spec spec_from(const json::Value &doc, std::string_view what) {
  Obj top(&doc, std::string(what));
  Spec spec;
  spec.oci_version = top.string("ociVersion");
  // Absent for `runc create` is the caller's error to report; "state" and "delete" need none.
  if (top.has("process"))
    spec.process = parse_process_obj(top.object("process"));
  Obj root = top.object("root");
  spec.root_path = root.string("path");
  spec.root_readonly = root.boolean("readonly");
  spec.hostname = top.string("hostname");
  spec.domainname = top.string("domainname");

  for (const auto &o : top.objects("mounts")) {
    Mount m;
    m.destination = o.string("destination");
    if (m.destination.empty())
      o.bad("destination", "is missing");
    m.type = o.string("type");
    m.source = o.string("source");
    m.options = o.strings("options");
    parse_mount_options(m);
    spec.mounts.push_back(std::move(m));
  }

  spec.hooks = parse_hooks_obj(top);
  spec.annotations = top.string_map("annotations");

  Obj linux = top.object("linux");
  for (const auto &o : linux.objects("namespaces")) {
    Namespace ns;
    ns.type = o.string("type");
    if (!listed(NAMESPACES, ns.type))
      o.bad("type", cat("names an unknown namespace: ", printable(ns.type)));
    if (spec.has_namespace(ns.type))
      o.bad("type", cat("repeats the namespace ", ns.type));
    ns.path = o.string("path");
    spec.namespaces.push_back(std::move(ns));
  }
  spec.uid_mappings = parse_id_mappings(linux, "uidMappings");
  spec.gid_mappings = parse_id_mappings(linux, "gidMappings");
  for (const auto &o : linux.objects("devices")) {
    Device d;
    d.path = o.string("path");
    if (d.path.empty())
      o.bad("path", "is missing");
    d.type = o.string("type");
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      o.bad("type", cat("is not \"c\", \"b\", \"u\" or \"p\": ", printable(d.type)));
    d.major = o.integer("major");
    d.minor = o.integer("minor");
    d.file_mode = o.optional<uint32_t>("fileMode");
    d.uid = o.optional<uint32_t>("uid");
    d.gid = o.optional<uint32_t>("gid");
    spec.devices.push_back(std::move(d));
  }
  spec.cgroups_path = linux.string("cgroupsPath");
  spec.resources = parse_resources(linux.object("resources"));
  spec.sysctl = linux.string_map("sysctl");
  if (linux.has("seccomp")) {
    Obj s = linux.object("seccomp");
    // runc: no default action and no rules is no filter at all.
    if (s.has("defaultAction") || s.has("syscalls"))
      spec.seccomp = parse_seccomp(s);
  }
  spec.rootfs_propagation = linux.string("rootfsPropagation");
  if (!spec.rootfs_propagation.empty() && ![&] {
        for (const auto &p : PROPAGATIONS)
          if (spec.rootfs_propagation == p.name)
            return true;
        return false;
      }())
    linux.bad("rootfsPropagation",
              cat("names an unknown propagation: ", printable(spec.rootfs_propagation)));
  spec.masked_paths = linux.strings("maskedPaths");
  spec.readonly_paths = linux.strings("readonlyPaths");
  spec.mount_label = linux.string("mountLabel");
  return spec;
}

// What runc 1.1.5's `runc spec` writes, byte for byte (tabs, no final newline).
std::string default_spec_json() {
  return R"({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})";
}

} // namespace koker::oci
