// SPDX-License-Identifier: MIT
#include "runtime/run_spec.hpp"
#include "base/error.hpp"
#include "base/rootless.hpp"
#include "base/text.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/run_flags.hpp"
#include "runtime/userns.hpp"
#include <sys/resource.h>

namespace koker::run_spec {

namespace {

json::Value mount(const std::string &dest, const std::string &type, const std::string &source,
                  const std::vector<std::string> &options) {
  json::Value m = json::Value::object();
  m.set("destination", dest);
  m.set("type", type);
  m.set("source", source);
  m.set("options", json::string_array(options));
  return m;
}

// runc's default file systems (its `runc spec`, with docker's /dev/shm), then koker's /etc
// files and the volumes, bound in that order.
json::Value mounts(const Inputs &in) {
  json::Value list = json::Value::array();
  list.push(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  list.push(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  list.push(mount("/dev/pts", "devpts", "devpts",
                  {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  // --shm-size in bytes, as docker writes it
  const auto &o = in.options;
  list.push(mount("/dev/shm", "tmpfs", "shm",
                  {"nosuid", "noexec", "nodev", "mode=1777",
                   o.shm_size ? cat("size=", o.shm_size) : std::string("size=65536k")}));
  list.push(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  // --privileged: /sys writable, as docker's
  std::vector<std::string> sys_options{"nosuid", "noexec", "nodev"};
  if (!o.privileged)
    sys_options.push_back("ro");
  if (rootless::active() && o.network == "host") {
    // sysfs may be mounted only by the owner of the network namespace: a rootless container
    // in the host's gets the host's /sys bound instead (runc's and podman's rootless way).
    sys_options.insert(sys_options.begin(), "rbind");
    list.push(mount("/sys", "bind", "/sys", sys_options));
  } else {
    list.push(mount("/sys", "sysfs", "sysfs", sys_options));
  }
  for (const char *name : {"hostname", "hosts", "resolv.conf"})
    list.push(mount(cat("/etc/", name), "bind", cat(in.dir, "/", name), {"bind"}));
  if (o.init)
    list.push(mount(INIT_IN_CONTAINER, "bind", in.init_path, {"bind", "ro"}));
  // Volumes, binds and tmpfs (issue 16.2), from the record, sorted there
  for (const auto &m : in.record.mounts) {
    std::vector<std::string> opts;
    if (m.type == "tmpfs") {
      // docker's defaults for --tmpfs, the user's options after them (a later one wins)
      opts = {"noexec", "nosuid", "nodev"};
      for (const auto &opt : text::fields(m.options, ','))
        opts.push_back(opt);
      if (!m.rw)
        opts.push_back("ro");
      list.push(mount(m.destination, "tmpfs", "tmpfs", opts));
      continue;
    }
    // rro: every mount under a read-only volume is read-only too (mount_setattr AT_RECURSIVE)
    opts = {"rbind", "rprivate"};
    if (!m.rw)
      opts.push_back("rro");
    list.push(mount(m.destination, "bind", m.source, opts));
  }
  return list;
}

json::Value cap_names(caps::Set set) {
  std::vector<std::string> names;
  for (int c = 0; c <= 63; ++c)
    if ((set >> c) & 1)
      names.push_back(caps::name(c));
  return json::string_array(names);
}

json::Value process(const Inputs &in) {
  const container::Record &rec = in.record;
  json::Value p = json::Value::object();
  p.set("terminal", in.options.tty);
  json::Value user = json::Value::object();
  user.set("uid", static_cast<uint64_t>(in.identity.uid));
  user.set("gid", static_cast<uint64_t>(in.identity.gid));
  user.set("umask", 022);
  if (!in.identity.groups.empty()) {
    json::Value gids = json::Value::array();
    for (gid_t g : in.identity.groups)
      gids.push(static_cast<uint64_t>(g));
    user.set("additionalGids", std::move(gids));
  }
  p.set("user", std::move(user));
  // --init: docker's "docker-init -- COMMAND...", the init as PID 1
  std::vector<std::string> args;
  if (in.options.init)
    args = {INIT_IN_CONTAINER, "--"};
  args.push_back(rec.path);
  args.insert(args.end(), rec.args.begin(), rec.args.end());
  p.set("args", json::string_array(args));
  std::vector<std::string> env = rec.env;
  bool has_home = false;
  for (const auto &e : env)
    has_home |= e.rfind("HOME=", 0) == 0 && e.size() > 5;
  if (!has_home)
    env.push_back("HOME=" + in.identity.home);
  p.set("env", json::string_array(env));
  p.set("cwd", rec.workdir.empty() ? "/" : rec.workdir);
  // docker's: a user other than root keeps its capabilities in the bounding set only.
  caps::Set held = in.identity.uid == 0 ? in.caps : 0;
  json::Value c = json::Value::object();
  c.set("bounding", cap_names(in.caps));
  c.set("effective", cap_names(held));
  c.set("permitted", cap_names(held));
  p.set("capabilities", std::move(c));
  // NOFILE 1024:1024 as docker's containerd default, only ever lowered: raising a hard limit
  // fails even for root on some hosts.
  json::Value list = json::Value::array();
  auto add_rlimit = [&list](const std::string &type, uint64_t soft, uint64_t hard) {
    json::Value r = json::Value::object();
    r.set("type", type);
    r.set("hard", hard);
    r.set("soft", soft);
    list.push(std::move(r));
  };
  bool nofile_given = false;
  for (const auto &u : rec.ulimits) { // --ulimit; -1 is RLIM_INFINITY
    auto value = [](int64_t v) { return v < 0 ? uint64_t(RLIM_INFINITY) : uint64_t(v); };
    add_rlimit(run_flags::rlimit_name(u), value(u.soft), value(u.hard));
    nofile_given |= u.name == "nofile";
  }
  struct rlimit nofile;
  if (!nofile_given && ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max >= 1024)
    add_rlimit("RLIMIT_NOFILE", 1024, 1024);
  if (!list.items().empty())
    p.set("rlimits", std::move(list));
  p.set("noNewPrivileges", in.options.no_new_privileges);
  return p;
}

json::Value device_rule(bool allow, std::string_view type, std::optional<int64_t> major,
                        std::optional<int64_t> minor, std::string_view access) {
  json::Value d = json::Value::object();
  d.set("allow", allow);
  if (type != "a")
    d.set("type", type);
  if (major)
    d.set("major", *major);
  if (minor)
    d.set("minor", *minor);
  d.set("access", access);
  return d;
}

json::Value resources(const Inputs &in) {
  json::Value r = limit_resources(in.options.limits);
  json::Value devices = json::Value::array();
  devices.push(device_rule(false, "a", std::nullopt, std::nullopt, "rwm"));
  // --privileged: every device, as docker; --device: its node, with the access asked for
  if (in.options.privileged)
    devices.push(device_rule(true, "a", std::nullopt, std::nullopt, "rwm"));
  for (const auto &d : in.record.devices) {
    run_flags::Node n = run_flags::device_node(d);
    devices.push(device_rule(true, std::string(1, n.type), n.major, n.minor, d.cgroup_permissions));
  }
  r.set("devices", std::move(devices));
  return r;
}


json::Value linux_section(const Inputs &in) {
  bool own_net = in.options.network != "host";
  json::Value l = json::Value::object();
  json::Value ns = json::Value::array();
  std::vector<const char *> types{"pid", "ipc", "mount"};
  if (own_net) {
    types.push_back("uts");
    types.push_back("network");
  }
  for (const char *t : types) {
    json::Value n = json::Value::object();
    n.set("type", t);
    ns.push(std::move(n));
  }
  l.set("namespaces", std::move(ns));
  l.set("cgroupsPath", "/koker/" + in.record.id);
  l.set("resources", resources(in));
  json::Value sysctl = json::Value::object();
  if (own_net) // ping without CAP_NET_RAW for every group, as podman sets it
    // (rootless: only the groups its user namespace maps, or the kernel refuses the range)
    sysctl.set("net.ipv4.ping_group_range",
               userns::inside() ? cat("0 ", userns::highest_mapped_gid()) : "0 2147483647");
  for (const auto &[key, value] : in.record.sysctls) // --sysctl, checked by run_flags
    sysctl.set(key, value);
  if (!sysctl.members().empty())
    l.set("sysctl", std::move(sysctl));
  json::Value devices = json::Value::array();
  std::vector<run_flags::Node> nodes;
  if (in.options.privileged)
    nodes = run_flags::host_devices();
  for (const auto &d : in.record.devices)
    nodes.push_back(run_flags::device_node(d));
  for (const auto &n : nodes) {
    json::Value d = json::Value::object();
    d.set("path", n.path);
    d.set("type", std::string(1, n.type));
    d.set("major", n.major);
    d.set("minor", n.minor);
    d.set("fileMode", static_cast<uint64_t>(n.mode));
    d.set("uid", static_cast<uint64_t>(n.uid));
    d.set("gid", static_cast<uint64_t>(n.gid));
    devices.push(std::move(d));
  }
  if (!devices.items().empty())
    l.set("devices", std::move(devices));
  // --privileged: nothing masked or read-only, as docker
  bool masks = !in.options.privileged;
  l.set("maskedPaths", json::string_array(masks ? rootfs::default_masked_paths()
                                                : std::vector<std::string>{}));
  l.set("readonlyPaths", json::string_array(masks ? rootfs::default_readonly_paths()
                                                  : std::vector<std::string>{}));
  return l;
}

} // namespace

json::Value config(const Inputs &in) {
  json::Value c = json::Value::object();
  c.set("ociVersion", "1.0.2");
  c.set("process", process(in));
  json::Value root = json::Value::object();
  root.set("path", "rootfs");
  root.set("readonly", in.options.read_only);
  c.set("root", std::move(root));
  if (in.options.network != "host")
    c.set("hostname", in.record.hostname);
  c.set("mounts", mounts(in));
  json::Value notes = json::Value::object();
  notes.set("org.koker.image", in.record.image_id);
  c.set("annotations", std::move(notes));
  c.set("linux", linux_section(in));
  return c;
}

void add_seccomp(json::Value &config, std::string profile) {
  if (json::Value *l = config.find("linux"))
    l->set("seccomp", json::Value::raw(std::move(profile)));
}

json::Value limit_resources(const cgroup::Limits &l) {
  json::Value r = json::Value::object();
  if (l.memory) {
    json::Value m = json::Value::object();
    m.set("limit", *l.memory);
    if (l.swap == cgroup::UNLIMITED)
      m.set("swap", -1); // the runtime-spec's "no swap limit"
    else
      m.set("swap", *l.memory + l.swap.value_or(*l.memory));
    r.set("memory", std::move(m));
  }
  if (l.nano_cpus) {
    json::Value c = json::Value::object();
    c.set("quota", static_cast<uint64_t>(*l.nano_cpus * cgroup::CFS_PERIOD_US / 1000000000ULL));
    c.set("period", cgroup::CFS_PERIOD_US);
    r.set("cpu", std::move(c));
  }
  if (l.pids) {
    json::Value p = json::Value::object();
    p.set("limit", *l.pids);
    r.set("pids", std::move(p));
  }
  return r;
}

} // namespace koker::run_spec
