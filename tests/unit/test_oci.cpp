// SPDX-License-Identifier: MIT
#include "base/error.hpp"
#include "base/sys.hpp"
#include "check.hpp"
#include "base/json.hpp"
#include "runtime/caps.hpp"
#include "runtime/oci_cgroup.hpp"
#include "runtime/oci_hooks.hpp"
#include "runtime/oci_seccomp.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/seccomp.hpp"
#include <cerrno>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <string>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

// tests/fixtures/oci/NAME: the suite runs from the repository's root (tests/check.sh); from
// elsewhere, the fixtures sit beside run-unit's own folder.
static std::string fixture(const std::string &name) {
  char exe[4096] = {};
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string self(exe, n > 0 ? size_t(n) : 0);
  std::string dir = self.substr(0, self.find_last_of('/') + 1);
  for (const std::string &path : {"tests/fixtures/oci/" + name, dir + "../fixtures/oci/" + name})
    if (auto text = sys::read_file_if_exists(path))
      return *text;
  throw Error("unable to find the fixture " + name);
}

// The message parse_spec throws for text, or "" when it parses.
static std::string spec_error(const std::string &text) {
  try {
    oci::parse_spec(text, "config.json");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

static bool has(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

static caps::Set bit(int cap) { return caps::Set{1} << cap; }

static const oci::Mount *mount_at(const oci::Spec &spec, const std::string &dest) {
  for (const auto &m : spec.mounts)
    if (m.destination == dest)
      return &m;
  return nullptr;
}

TEST("oci: podman 4.3.1's config.json") {
  auto spec = oci::parse_spec(fixture("podman-4.3.1-run-true.config.json"), "podman");
  CHECK(spec.oci_version == "1.0.2-dev");
  CHECK(spec.process.args == std::vector<std::string>{"true"});
  CHECK(spec.process.env.size() == 5 && spec.process.env[2] == "container=podman");
  CHECK(spec.process.cwd == "/");
  CHECK(spec.process.user.uid == 0 && spec.process.user.gid == 0);
  CHECK(spec.process.user.umask == 18u);
  CHECK(!spec.process.terminal && !spec.process.no_new_privileges);
  CHECK(spec.process.caps.bounding == caps::default_set()); // podman's 11: 0x800405fb
  CHECK(spec.process.caps.effective == caps::default_set());
  CHECK(spec.process.caps.permitted == caps::default_set());
  CHECK(spec.process.caps.inheritable == 0 && spec.process.caps.ambient == 0);
  CHECK(spec.process.rlimits.size() == 2);
  CHECK(spec.process.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(spec.process.rlimits[0].soft == 1024 && spec.process.rlimits[0].hard == 1024);
  CHECK(spec.process.rlimits[1].resource == RLIMIT_NPROC && spec.process.rlimits[1].hard == 1000);
  CHECK(!spec.process.oom_score_adj);
  CHECK(spec.root_path.find("/merged") != std::string::npos && !spec.root_readonly);
  CHECK(spec.hostname == "771688c223d1");

  CHECK(spec.mounts.size() == 10);
  const oci::Mount *m = mount_at(spec, "/proc");
  CHECK(m && m->type == "proc" && m->flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV));
  CHECK(m && m->data.empty() && !m->bind && m->propagation == 0);
  m = mount_at(spec, "/dev");
  CHECK(m && m->flags == (MS_NOSUID | MS_NOEXEC | MS_STRICTATIME));
  CHECK(m && m->data == "mode=755,size=65536k");
  m = mount_at(spec, "/dev/pts");
  CHECK(m && m->data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
  m = mount_at(spec, "/sys");
  CHECK(m && (m->flags & MS_RDONLY));
  m = mount_at(spec, "/etc/hosts");
  CHECK(m && m->bind && !m->recursive && m->propagation == (MS_PRIVATE | MS_REC));
  CHECK(m && m->flags == 0 && m->data.empty());
  CHECK(m && m->options == (std::vector<std::string>{"bind", "rprivate"}));
  m = mount_at(spec, "/dev/shm");
  CHECK(m && m->bind && m->flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV));
  m = mount_at(spec, "/sys/fs/cgroup");
  CHECK(m && m->flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
  CHECK(m && m->propagation == (MS_PRIVATE | MS_REC) && !m->bind);

  CHECK(spec.annotations.size() == 8);
  CHECK(spec.annotations["io.container.manager"] == "libpod");
  CHECK(spec.sysctl.size() == 1 && spec.sysctl["net.ipv4.ping_group_range"] == "0 0");
  CHECK(spec.resources.pids_limit == 2048);
  CHECK(!spec.resources.memory_limit && !spec.resources.cpu_shares);
  CHECK(spec.resources.devices.size() == 1);
  CHECK(!spec.resources.devices[0].allow && spec.resources.devices[0].type == "a");
  CHECK(!spec.resources.devices[0].major && spec.resources.devices[0].access == "rwm");
  CHECK(spec.cgroups_path ==
        "/libpod_parent/libpod-771688c223d1fe7f23afcd2af4f5980e2be9ec3561246772db0d31e5fcf80377");
  CHECK(spec.namespaces.size() == 5);
  CHECK(spec.has_namespace("pid") && spec.has_namespace("network") && spec.has_namespace("mount"));
  CHECK(!spec.has_namespace("user") && !spec.has_namespace("cgroup"));
  CHECK(spec.find_namespace("uts") && spec.find_namespace("uts")->path.empty());
  CHECK(spec.masked_paths.size() == 11 && spec.masked_paths[10] == "/sys/dev/block");
  CHECK(spec.readonly_paths.size() == 6 && spec.readonly_paths[0] == "/proc/asound");

  CHECK(spec.seccomp.has_value());
  const oci::Seccomp &sc = *spec.seccomp;
  CHECK(sc.default_action == "SCMP_ACT_ERRNO" && sc.default_errno_ret == 38u);
  CHECK(sc.architectures ==
        (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  CHECK(sc.flags.empty());
  CHECK(sc.syscalls.size() > 10);
  CHECK(sc.syscalls[0].action == "SCMP_ACT_ERRNO" && sc.syscalls[0].errno_ret == 1u);
  CHECK(sc.syscalls[0].names.size() == 28 && sc.syscalls[0].names[0] == "bdflush");
  bool socket_rule = false;
  for (const auto &r : sc.syscalls)
    if (r.names == std::vector<std::string>{"socket"} && r.errno_ret == 22u) {
      socket_rule = r.action == "SCMP_ACT_ERRNO" && r.args.size() == 2 && r.args[0].index == 0 &&
                    r.args[0].value == 16 && r.args[0].op == "SCMP_CMP_EQ" &&
                    r.args[1].index == 2 && r.args[1].value == 9 && r.args[1].value_two == 0;
    }
  CHECK(socket_rule);
  bool persona = false;
  for (const auto &r : sc.syscalls)
    if (r.names == std::vector<std::string>{"personality"} && r.args.size() == 1 &&
        r.args[0].value == 4294967295u)
      persona = r.action == "SCMP_ACT_ALLOW" && !r.errno_ret;
  CHECK(persona);
  CHECK(spec.hooks.prestart.empty() && spec.hooks.poststop.empty());
}

TEST("oci: containerd 1.6's config.json") {
  auto spec = oci::parse_spec(fixture("containerd-1.6-ctr-run-true.config.json"), "containerd");
  caps::Set docker = caps::default_set() | bit(CAP_MKNOD) | bit(CAP_NET_RAW) | bit(CAP_AUDIT_WRITE);
  CHECK(spec.process.caps.bounding == docker);
  CHECK(spec.process.caps.effective == docker && spec.process.caps.permitted == docker);
  CHECK(spec.process.user.additional_gids == std::vector<uint32_t>{0});
  CHECK(!spec.process.user.umask);
  CHECK(spec.process.no_new_privileges);
  CHECK(spec.process.rlimits.size() == 1);
  CHECK(spec.root_path == "rootfs");
  CHECK(spec.hostname.empty());
  CHECK(spec.mounts.size() == 7);
  const oci::Mount *m = mount_at(spec, "/dev/shm");
  CHECK(m && m->type == "tmpfs" && m->source == "shm" && !m->bind);
  CHECK(m && m->flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV) && m->data == "mode=1777,size=65536k");
  m = mount_at(spec, "/run");
  CHECK(m && m->flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(spec.resources.cpu_shares == 1024u);
  CHECK(spec.resources.devices.size() == 10);
  const auto &pts = spec.resources.devices[8];
  CHECK(pts.allow && pts.type == "c" && pts.major == 136 && !pts.minor && pts.access == "rwm");
  const auto &null = spec.resources.devices[1];
  CHECK(null.major == 1 && null.minor == 3);
  CHECK(spec.cgroups_path == "/default/ocires-t1");
  CHECK(spec.namespaces.size() == 5 && spec.namespaces[4].type == "network");
  CHECK(spec.masked_paths.size() == 10 && spec.masked_paths[2] == "/proc/kcore");
  CHECK(spec.readonly_paths.size() == 5 && spec.readonly_paths[3] == "/proc/sys");
  CHECK(!spec.seccomp);
  CHECK(spec.annotations.empty() && spec.sysctl.empty());
}

TEST("oci: podman's exec process.json") {
  auto p = oci::parse_process(fixture("podman-4.3.1-exec.process.json"), "process.json");
  CHECK(p.args == std::vector<std::string>{"true"});
  CHECK(p.env.size() == 4 && p.caps.bounding == caps::default_set());
  CHECK(p.rlimits.size() == 2 && p.rlimits[1].resource == RLIMIT_NPROC);
}

TEST("oci: default_spec_json is runc spec's, and parses") {
  CHECK(oci::default_spec_json() == fixture("runc-1.1.5-spec.config.json"));
  auto spec = oci::parse_spec(oci::default_spec_json(), "default spec");
  CHECK(spec.process.terminal && spec.process.args == std::vector<std::string>{"sh"});
  caps::Set three = bit(CAP_AUDIT_WRITE) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
  CHECK(spec.process.caps.bounding == three && spec.process.caps.ambient == three);
  CHECK(spec.process.caps.inheritable == 0);
  CHECK(spec.process.no_new_privileges);
  CHECK(spec.root_path == "rootfs" && spec.root_readonly && spec.hostname == "runc");
  CHECK(spec.mounts.size() == 7 && spec.mounts[0].flags == 0 && spec.mounts[0].options.empty());
  CHECK(spec.namespaces.size() == 5 && !spec.seccomp);
  CHECK(spec.masked_paths.size() == 10 && spec.readonly_paths.size() == 5);
}

TEST("oci: mount options map onto mount(2) as runc's do") {
  auto spec = oci::parse_spec(R"({"mounts":[
    {"destination":"/a","type":"none","source":"/x","options":["rbind","ro","rw","rslave","nosuid","suid"]},
    {"destination":"/b","type":"bind","source":"/y","options":["noexec","remount","mand","noatime","nodiratime"]},
    {"destination":"/c","type":"tmpfs","source":"tmpfs","options":["tmpcopyup","defaults","size=1m","sync","async","relatime","norelatime","shared","private"]},
    {"destination":"/d","type":"none","source":"/z","options":["bind","rro","rnosuid","rnoatime","unbindable","strictatime","acl"]},
    {"destination":"/e","type":"none","source":"/z","options":["runbindable","exec","dev","atime"]}]})",
                              "test");
  const auto &a = spec.mounts[0];
  CHECK(a.bind && a.recursive && a.propagation == (MS_SLAVE | MS_REC));
  CHECK(a.flags == 0 && a.clear_flags == (MS_RDONLY | MS_NOSUID) && a.data.empty());
  const auto &b = spec.mounts[1];
  CHECK(b.bind && !b.recursive);
  CHECK(b.flags == (MS_NOEXEC | MS_REMOUNT | MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME));
  const auto &c = spec.mounts[2];
  CHECK(!c.bind && c.data == "size=1m" && c.propagation == MS_PRIVATE);
  CHECK(c.flags == 0 && c.clear_flags == (MS_SYNCHRONOUS | MS_RELATIME));
  const auto &d = spec.mounts[3];
  CHECK(d.bind && !d.recursive && d.propagation == MS_UNBINDABLE);
  CHECK(d.flags == MS_STRICTATIME && d.data == "acl");
  CHECK(d.rec_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
  CHECK(d.rec_attr_clr == MOUNT_ATTR__ATIME);
  const auto &e = spec.mounts[4];
  CHECK(e.propagation == (MS_UNBINDABLE | MS_REC) && e.rec_attr_set == 0 && e.rec_attr_clr == 0);
  CHECK(e.clear_flags == (MS_NOEXEC | MS_NODEV | MS_NOATIME));
}

TEST("oci: the rest of the spec: hooks, mappings, resources, 64-bit values") {
  auto spec = oci::parse_spec(R"({"ociVersion":"1.1.0",
    "process":{"terminal":true,"consoleSize":{"height":24,"width":80},"args":["sh"],"cwd":"/w",
      "user":{"uid":1000,"gid":1000,"additionalGids":[4294967295]},
      "capabilities":{"ambient":["CAP_SYS_ADMIN"],"inheritable":["CAP_BPF"]},
      "rlimits":[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}],
      "oomScoreAdj":-500,"apparmorProfile":"p","selinuxLabel":"l"},
    "root":{"path":"/r"},"domainname":"example.org",
    "hooks":{"prestart":[{"path":"/bin/a","args":["a","1"],"env":["X=1"],"timeout":5}],
      "createRuntime":[{"path":"/b"}],"createContainer":[{"path":"/c"}],
      "startContainer":[{"path":"/d"}],"poststart":[{"path":"/e"}],"poststop":[{"path":"/f"},{"path":"/g"}]},
    "linux":{"namespaces":[{"type":"user"},{"type":"network","path":"/proc/1/ns/net"},{"type":"time"}],
      "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
      "gidMappings":[{"containerID":0,"hostID":200000,"size":1}],
      "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}],
      "resources":{"memory":{"limit":536870912,"reservation":1024,"swap":-1},
        "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1","mems":"0"},
        "devices":[{"allow":true,"type":"b","major":8,"minor":-1,"access":"rw"}],
        "unified":{"memory.high":"1G"}},
      "rootfsPropagation":"rslave","mountLabel":"m",
      "seccomp":{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO",
          "args":[{"index":1,"value":18446744073709551615,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}}})",
                              "test");
  const auto &p = spec.process;
  CHECK(p.terminal && p.console_height == 24 && p.console_width == 80 && p.cwd == "/w");
  CHECK(p.user.uid == 1000 && p.user.additional_gids == std::vector<uint32_t>{4294967295u});
  CHECK(p.caps.ambient == bit(CAP_SYS_ADMIN) && p.caps.inheritable == bit(CAP_BPF));
  CHECK(p.caps.bounding == 0);
  CHECK(p.rlimits[0].resource == RLIMIT_CORE && p.rlimits[0].soft == RLIM_INFINITY);
  CHECK(p.oom_score_adj == -500 && p.apparmor_profile == "p" && p.selinux_label == "l");
  CHECK(spec.domainname == "example.org");
  CHECK(spec.hooks.prestart.size() == 1 && spec.hooks.prestart[0].timeout_s == 5);
  CHECK(spec.hooks.prestart[0].args.size() == 2 && (*spec.hooks.prestart[0].env)[0] == "X=1");
  CHECK(spec.hooks.create_runtime[0].path == "/b" && spec.hooks.create_container[0].path == "/c");
  CHECK(spec.hooks.start_container[0].path == "/d" && spec.hooks.poststart[0].path == "/e");
  CHECK(spec.hooks.poststop.size() == 2 && !spec.hooks.poststop[1].timeout_s);
  CHECK(!spec.hooks.create_runtime[0].env); // absent: koker-oci's own environment, as runc
  CHECK(spec.find_namespace("network")->path == "/proc/1/ns/net" && spec.has_namespace("time"));
  CHECK(spec.uid_mappings.size() == 1 && spec.uid_mappings[0].host_id == 100000 &&
        spec.uid_mappings[0].size == 65536);
  CHECK(spec.gid_mappings.size() == 1 && spec.gid_mappings[0].host_id == 200000);
  CHECK(spec.devices.size() == 1 && spec.devices[0].major == 10 && spec.devices[0].minor == 229);
  CHECK(spec.devices[0].file_mode == 0666u && spec.devices[0].uid == 0u);
  const auto &r = spec.resources;
  CHECK(r.memory_limit == 536870912 && r.memory_reservation == 1024 && r.memory_swap == -1);
  CHECK(r.cpu_shares == 512u && r.cpu_quota == 50000 && r.cpu_period == 100000u);
  CHECK(r.cpuset_cpus == "0-1" && r.cpuset_mems == "0");
  CHECK(r.devices.size() == 1 && r.devices[0].type == "b" && r.devices[0].major == 8);
  CHECK(!r.devices[0].minor && r.devices[0].access == "rw");
  CHECK(r.unified.at("memory.high") == "1G");
  CHECK(spec.rootfs_propagation == "rslave" && spec.mount_label == "m");
  CHECK(spec.seccomp && spec.seccomp->syscalls[0].args[0].value == UINT64_MAX);
  CHECK(spec.seccomp->syscalls[0].args[0].value_two == 1 && !spec.seccomp->syscalls[0].errno_ret);
  CHECK(oci::filter_flags(*spec.seccomp) == SECCOMP_FILTER_FLAG_LOG);
  // Absent process: accepted, the caller of create checks.
  auto bare = oci::parse_spec(R"({"ociVersion":"1.0.0","root":{"path":"rootfs"}})", "bare");
  CHECK(bare.process.args.empty() && bare.process.cwd == "/" && !bare.seccomp);
}

TEST("oci: hooks_json writes what parse_hooks reads back (koker-oci's state.json)") {
  auto spec = oci::parse_spec(R"({"hooks":{"prestart":[{"path":"/a","args":["a","1"],"env":[],
    "timeout":5}],"poststop":[{"path":"/f"},{"path":"/g","env":["X=1"]}]}})",
                              "test");
  json::Value doc = json::Value::object();
  doc.set("hooks", oci::hooks_json(spec.hooks));
  oci::Hooks h = oci::parse_hooks(doc, "state.json");
  CHECK(h.prestart.size() == 1 && h.prestart[0].path == "/a" && h.prestart[0].timeout_s == 5);
  CHECK(h.prestart[0].args == (std::vector<std::string>{"a", "1"}));
  CHECK(h.prestart[0].env && h.prestart[0].env->empty()); // given empty: an empty environment
  CHECK(h.poststop.size() == 2 && !h.poststop[0].env && (*h.poststop[1].env)[0] == "X=1");
  CHECK(h.create_runtime.empty() && h.start_container.empty() && h.poststart.empty());
}

TEST("oci: linux.resources, every member runc writes") {
  auto spec = oci::parse_spec(R"({"linux":{"resources":{
    "memory":{"limit":50593792,"reservation":50593792,"swap":50593792,"kernel":50593792,
      "kernelTCP":50593792,"swappiness":10,"disableOOMKiller":true},
    "cpu":{"shares":1024,"quota":50000,"period":100000,"realtimeRuntime":950000,
      "realtimePeriod":1000000,"cpus":"0-1","mems":"0"},
    "pids":{"limit":1000},
    "blockIO":{"weight":500,"leafWeight":300,
      "weightDevice":[{"major":8,"minor":0,"weight":500,"leafWeight":300}],
      "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":102400}],
      "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":102401}],
      "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":102402}],
      "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":18446744073709551615}]},
    "hugepageLimits":[{"pageSize":"2MB","limit":2147483648}],
    "network":{"classID":255,"priorities":[{"name":"lo","priority":10},{"name":"eth0","priority":30}]},
    "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"}]}}})",
                              "test");
  const auto &r = spec.resources;
  CHECK(r.memory_limit == 50593792 && r.memory_reservation == 50593792);
  CHECK(r.memory_swap == 50593792 && r.memory_kernel == 50593792);
  CHECK(r.memory_kernel_tcp == 50593792 && r.memory_swappiness == 10u);
  CHECK(r.disable_oom_killer == true);
  CHECK(r.cpu_shares == 1024u && r.cpu_quota == 50000 && r.cpu_period == 100000u);
  CHECK(r.cpu_rt_runtime == 950000 && r.cpu_rt_period == 1000000u);
  CHECK(r.cpuset_cpus == "0-1" && r.cpuset_mems == "0" && r.pids_limit == 1000);
  CHECK(r.blkio_weight == 500 && r.blkio_leaf_weight == 300);
  CHECK(r.blkio_weight_device.size() == 1 && r.blkio_weight_device[0].major == 8);
  CHECK(r.blkio_weight_device[0].weight == 500 && r.blkio_weight_device[0].leaf_weight == 300);
  CHECK(r.blkio_throttle_read_bps.size() == 1 && r.blkio_throttle_read_bps[0].rate == 102400u);
  CHECK(r.blkio_throttle_write_bps[0].rate == 102401u);
  CHECK(r.blkio_throttle_read_iops[0].rate == 102402u);
  CHECK(r.blkio_throttle_write_iops[0].rate == UINT64_MAX);
  CHECK(r.hugepage_limits.size() == 1 && r.hugepage_limits[0].page_size == "2MB");
  CHECK(r.hugepage_limits[0].limit == 2147483648u);
  CHECK(r.net_cls_classid == 255u && r.net_prio_ifpriomap.size() == 2);
  CHECK(r.net_prio_ifpriomap[1].name == "eth0" && r.net_prio_ifpriomap[1].priority == 30u);
  CHECK(r.devices.size() == 2 && r.devices[1].line() == "c 10:229 rwm");
  // update --resources reads the object alone, the same way.
  auto u = oci::parse_resources(R"({"memory":{"limit":0},"cpu":{"quota":-1},"pids":{"limit":-1}})",
                                "update");
  CHECK(u.memory_limit == 0 && u.cpu_quota == -1 && u.pids_limit == -1 && u.devices.empty());
  std::string e;
  try {
    oci::parse_resources(R"({"memory":{"swappiness":-1}})", "f.json");
  } catch (const Error &err) {
    e = err.what();
  }
  CHECK(has(e, "invalid f.json: \"memory.swappiness\" is not a whole number"));
}

TEST("oci: the device rules create writes: the spec's, then runc's defaults") {
  auto spec = oci::parse_spec(R"({"linux":{
    "devices":[{"path":"/dev/null","type":"c","major":1,"minor":3}],
    "resources":{"devices":[{"allow":false,"access":"rwm"},
      {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"}]}}})",
                              "test");
  auto r = oci::create_resources(spec);
  std::vector<std::string> lines;
  for (const auto &d : r.devices)
    lines.push_back(std::string(d.allow ? "allow " : "deny ") + d.line());
  // /dev/null's default rule is left out: linux.devices defines the node again (runc).
  CHECK((lines == std::vector<std::string>{
                      "deny a *:* rwm", "allow c 10:229 rwm", "allow c *:* m", "allow b *:* m",
                      "allow c 1:8 rwm", "allow c 1:7 rwm", "allow c 5:0 rwm", "allow c 1:5 rwm",
                      "allow c 1:9 rwm", "allow c 136:* rwm", "allow c 5:2 rwm",
                      "allow c 10:200 rwm"}));
  CHECK(oci::create_resources(oci::parse_spec("{}", "empty")).devices.size() == 11);
}

TEST("oci: errors name the member") {
  CHECK(has(spec_error("{"), "malformed JSON"));
  CHECK(has(spec_error("[]"), "invalid config.json"));
  CHECK(has(spec_error(R"({"process":{"args":"true"}})"), "\"process.args\" is a string"));
  CHECK(has(spec_error(R"({"process":{"terminal":1}})"), "\"process.terminal\" is a number"));
  CHECK(has(spec_error(R"({"process":{"user":{"uid":-1}}})"),
            "\"process.user.uid\" is out of range"));
  CHECK(has(spec_error(R"({"process":{"user":{"additionalGids":["0"]}}})"),
            "\"process.user.additionalGids\""));
  CHECK(has(spec_error(R"({"mounts":{}})"), "\"mounts\" is an object, not an array"));
  CHECK(has(spec_error(R"({"mounts":[{"destination":"/a"},{"destination":"/b","options":[1]}]})"),
            "\"mounts[1].options\" holds a number"));
  CHECK(has(spec_error(R"({"mounts":["/a"]})"), "\"mounts[0]\" is a string, not an object"));
  CHECK(
      has(spec_error(R"({"mounts":[{"type":"tmpfs"}]})"), "\"mounts[0].destination\" is missing"));
  std::string e =
      spec_error(R"({"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_FOO"]}}})");
  CHECK(has(e, "\"process.capabilities.bounding\"") && has(e, "unknown capability: CAP_FOO"));
  CHECK(has(spec_error(R"({"process":{"capabilities":{"effective":["chown"]}}})"), "chown"));
  e = spec_error(R"({"process":{"rlimits":[{"type":"RLIMIT_FOO","soft":1,"hard":1}]}})");
  CHECK(has(e, "\"process.rlimits[0].type\"") && has(e, "RLIMIT_FOO"));
  CHECK(
      has(spec_error(R"({"process":{"rlimits":[{"type":"RLIMIT_CORE"},{"type":"RLIMIT_CORE"}]}})"),
          "\"process.rlimits[1].type\" repeats RLIMIT_CORE"));
  CHECK(has(spec_error(R"({"process":{"rlimits":[{"type":"RLIMIT_CORE","soft":-1}]}})"),
            "\"process.rlimits[0].soft\" is not a whole number"));
  CHECK(has(
      spec_error(R"({"process":{"rlimits":[{"type":"RLIMIT_CORE","soft":18446744073709551616}]}})"),
      "\"process.rlimits[0].soft\" is not a whole number"));
  CHECK(
      has(spec_error(R"({"process":{"cwd":"work"}})"), "\"process.cwd\" is not an absolute path"));
  CHECK(has(spec_error(R"({"linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})"),
            "\"linux.namespaces[1].type\" repeats the namespace pid"));
  CHECK(has(spec_error(R"({"linux":{"namespaces":[{"type":"net"}]}})"),
            "\"linux.namespaces[0].type\" names an unknown namespace: net"));
  CHECK(has(spec_error(R"({"linux":{"cgroupsPath":7}})"), "\"linux.cgroupsPath\" is a number"));
  CHECK(has(spec_error(R"({"linux":{"sysctl":{"a":1}}})"), "\"linux.sysctl.a\" is a number"));
  CHECK(has(spec_error(R"({"annotations":[]})"), "\"annotations\" is an array, not an object"));
  CHECK(has(spec_error(R"({"linux":{"resources":{"pids":{"limit":"1"}}}})"),
            "\"linux.resources.pids.limit\" is a string"));
  CHECK(has(spec_error(R"({"linux":{"resources":{"devices":[{"type":"x"}]}}})"),
            "\"linux.resources.devices[0].type\""));
  CHECK(has(spec_error(R"({"linux":{"resources":{"blockIO":{"weight":70000}}}})"),
            "\"linux.resources.blockIO.weight\" is out of range"));
  CHECK(has(spec_error(R"({"linux":{"resources":{"hugepageLimits":[{"pageSize":"../2MB"}]}}})"),
            "\"linux.resources.hugepageLimits[0].pageSize\" is not a page size"));
  CHECK(has(spec_error(R"({"linux":{"resources":{"network":{"priorities":[{"name":"a b"}]}}}})"),
            "\"linux.resources.network.priorities[0].name\" is not an interface name"));
  CHECK(has(spec_error(R"({"linux":{"resources":{"memory":{"disableOOMKiller":1}}}})"),
            "\"linux.resources.memory.disableOOMKiller\" is a number"));
  CHECK(has(spec_error(R"({"linux":{"rootfsPropagation":"slavish"}})"),
            "\"linux.rootfsPropagation\""));
  CHECK(has(spec_error(R"({"hooks":{"poststop":[{"args":["x"]}]}})"),
            "\"hooks.poststop[0].path\" is missing"));
  CHECK(has(spec_error(R"({"hooks":{"prestart":[{"path":"bin/x"}]}})"),
            "\"hooks.prestart[0].path\" is not an absolute path: bin/x"));
  CHECK(has(spec_error(R"({"hooks":{"poststart":[{"path":"/x","timeout":0}]}})"),
            "\"hooks.poststart[0].timeout\" is not greater than zero"));
  CHECK(has(spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_MAYBE"}}})"),
            "\"linux.seccomp.defaultAction\" names an unknown action: SCMP_ACT_MAYBE"));
  CHECK(has(
      spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}}})"),
      "\"linux.seccomp.defaultErrnoRet\" is given for SCMP_ACT_ALLOW"));
  CHECK(has(spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["a"],"action":"SCMP_ACT_ERRNO"},{"names":["b"],"action":"SCMP_ACT_ERRNO",
            "args":[{"index":0,"value":"1","op":"SCMP_CMP_EQ"}]}]}}})"),
            "\"linux.seccomp.syscalls[1].args[0].value\" is a string, not a number"));
  CHECK(has(spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["b"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"op":"SCMP_CMP_EQ"}]}]}}})"),
            "\"linux.seccomp.syscalls[0].args[0].index\" is out of range"));
  CHECK(has(spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["b"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"op":"SCMP_CMP_XX"}]}]}}})"),
            "\"linux.seccomp.syscalls[0].args[0].op\" names an unknown operator"));
  CHECK(has(spec_error(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"action":"SCMP_ACT_ERRNO"}]}}})"),
            "\"linux.seccomp.syscalls[0].names\" is missing"));
}

static std::string filter_error(const std::string &seccomp_json) {
  try {
    auto spec = oci::parse_spec(R"({"linux":{"seccomp":)" + seccomp_json + "}}", "test");
    oci::build_filter(*spec.seccomp);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

// Runs body in a child with filter loaded (no_new_privs first); its exit status.
template <class Body> static int in_child(const seccomp::Filter &filter, Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      _exit(100);
    try {
      seccomp::load(filter);
    } catch (...) {
      _exit(101);
    }
    _exit(body());
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

TEST("oci: build_filter builds podman's profile and a small one, and loads nothing") {
  auto podman = oci::parse_spec(fixture("podman-4.3.1-run-true.config.json"), "podman");
  seccomp::Filter f = oci::build_filter(*podman.seccomp);
  CHECK(!f.prog.empty() && f.prog.size() <= BPF_MAXINSNS);
  CHECK(f.stats.rules > 300 && f.stats.allowed > 300);
  CHECK(f.stats.arches == "x86_64 x86 x32");
  CHECK(f.stats.max_nr > 400);
  CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0); // nothing loaded here

  // containerd's and runc's specs carry no seccomp: a profile of the same shape instead.
  auto small = oci::parse_spec(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
    "architectures":["SCMP_ARCH_X86_64"],"syscalls":[
      {"names":["getppid","no_such_syscall"],"action":"SCMP_ACT_ERRNO","errnoRet":42},
      {"names":["getpgid"],"action":"SCMP_ACT_ERRNO","errnoRet":43,
       "args":[{"index":0,"value":7,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
      {"names":["dup3"],"action":"SCMP_ACT_ERRNO","errnoRet":44,
       "args":[{"index":2,"value":524288,"valueTwo":524288,"op":"SCMP_CMP_MASKED_EQ"}]},
      {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}}})",
                               "small");
  seccomp::Filter g = oci::build_filter(*small.seccomp);
  CHECK(!g.prog.empty());
  CHECK(g.stats.rules == 4 && g.stats.allowed == 0); // getpid's rule is the default's: left out
  CHECK(g.stats.enosys == 0);                        // a permissive default has no ENOSYS stub
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0) {
    CHECK(in_child(g, [] {
            int r = 0;
            r |= !(syscall(SYS_getppid) == -1 && errno == 42);
            r |= !(syscall(SYS_getpgid, 7) == -1 && errno == 43) << 1;
            r |= !(syscall(SYS_getpgid, 8) == -1 && errno == 43) << 2;
            r |= !(syscall(SYS_getpgid, 0) >= 0) << 3;
            r |= !(syscall(SYS_dup3, 0, 1000, O_CLOEXEC) == -1 && errno == 44) << 4;
            r |= !(syscall(SYS_getpid) > 0) << 5;
            return r;
          }) == 0);
    CHECK(in_child(f, [] {
            int r = 0;
            r |= !(syscall(SYS_kexec_load, 0, 0, 0, 0) == -1 && errno == EPERM);
            r |= !(syscall(1000) == -1 && errno == ENOSYS) << 1; // past the profile: the stub
            r |= !(syscall(SYS_getpid) > 0) << 2;
            r |= !(syscall(SYS_socket, 16, 3, 9) == -1 && errno == EINVAL) << 3;
            return r;
          }) == 0);
  }
}

TEST("oci: build_filter refuses NOTIFY, unknown arches and flags") {
  CHECK(has(filter_error(R"({"defaultAction":"SCMP_ACT_NOTIFY"})"),
            "SCMP_ACT_NOTIFY needs a seccomp listener"));
  CHECK(has(
      filter_error(
          R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]})"),
      "SCMP_ACT_NOTIFY needs a seccomp listener"));
  CHECK(has(filter_error(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]})"),
            "invalid seccomp architecture: SCMP_ARCH_VAX"));
  CHECK(has(
      filter_error(R"({"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NOPE"]})"),
      "invalid seccomp flag: SECCOMP_FILTER_FLAG_NOPE"));
  CHECK(filter_error(
            R"({"defaultAction":"SCMP_ACT_KILL_PROCESS","flags":["SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_TRACE","errnoRet":3},
                {"names":["close"],"action":"SCMP_ACT_LOG"},{"names":["open"],"action":"SCMP_ACT_TRAP"},
                {"names":["openat"],"action":"SCMP_ACT_KILL"}]})")
            .empty());
}
