// SPDX-License-Identifier: MIT
#include "runtime/run_spec.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "runtime/rootfs.hpp"
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
  list.push(mount("/dev/shm", "tmpfs", "shm",
                  {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  list.push(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  list.push(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  for (const char *name : {"hostname", "hosts", "resolv.conf"})
    list.push(mount(cat("/etc/", name), "bind", cat(in.dir, "/", name), {"bind"}));
  for (const auto &v : in.options.volumes) {
    rootfs::Volume vol = create::parse_volume(v);
    // rro: every mount under a read-only volume is read-only too (mount_setattr AT_RECURSIVE)
    std::vector<std::string> opts{"rbind", "rprivate"};
    if (vol.read_only)
      opts.push_back("rro");
    list.push(mount(vol.target, "bind", vol.source, opts));
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
  std::vector<std::string> args{rec.path};
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
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max >= 1024) {
    json::Value r = json::Value::object();
    r.set("type", "RLIMIT_NOFILE");
    r.set("hard", 1024);
    r.set("soft", 1024);
    json::Value list = json::Value::array();
    list.push(std::move(r));
    p.set("rlimits", std::move(list));
  }
  p.set("noNewPrivileges", in.options.no_new_privileges);
  return p;
}

} // namespace

json::Value resources(const cgroup::Limits &l) {
  json::Value r = json::Value::object();
  json::Value deny = json::Value::object();
  deny.set("allow", false);
  deny.set("access", "rwm");
  json::Value devices = json::Value::array();
  devices.push(std::move(deny));
  r.set("devices", std::move(devices));
  if (l.memory) {
    json::Value m = json::Value::object();
    m.set("limit", *l.memory);
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

namespace {

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
  l.set("resources", resources(in.options.limits));
  if (own_net) {
    // ping without CAP_NET_RAW for every group, as podman sets it
    json::Value sysctl = json::Value::object();
    sysctl.set("net.ipv4.ping_group_range", "0 2147483647");
    l.set("sysctl", std::move(sysctl));
  }
  l.set("maskedPaths", json::string_array(rootfs::default_masked_paths()));
  l.set("readonlyPaths", json::string_array(rootfs::default_readonly_paths()));
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

} // namespace koker::run_spec
