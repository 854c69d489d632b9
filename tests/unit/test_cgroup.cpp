// SPDX-License-Identifier: MIT
#include "cgroup/cgroup.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/sys.hpp"
#include "store/container.hpp"
#include <cstdlib>
#include <stdexcept>

using namespace koker;
namespace cg = koker::cgroup;

// The message of the Error fn throws, or "" when it throws none.
template <class F> static std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

static bool size_fails(std::string_view text) {
  return !error_of([&] { cg::parse_size(text); }).empty();
}

TEST("cgroup: sizes parse as docker's RAMInBytes (powers of 1024)") {
  CHECK(cg::parse_size("512m") == 512ULL << 20);
  CHECK(cg::parse_size("512M") == 512ULL << 20);
  CHECK(cg::parse_size("1g") == 1ULL << 30);
  CHECK(cg::parse_size("1.5g") == 1610612736ULL);
  CHECK(cg::parse_size("0.5k") == 512);
  CHECK(cg::parse_size("64k") == 65536);
  CHECK(cg::parse_size("1048576") == 1048576);
  CHECK(cg::parse_size("100b") == 100);
  CHECK(cg::parse_size("2MiB") == 2ULL << 20);
  CHECK(cg::parse_size("2mb") == 2ULL << 20);
  CHECK(cg::parse_size("16 m") == 16ULL << 20);
  CHECK(cg::parse_size("1t") == 1ULL << 40);
  CHECK(cg::parse_size("1p") == 1ULL << 50);
}

TEST("cgroup: bad sizes are refused: negative, zero, malformed, too large") {
  CHECK(size_fails(""));
  CHECK(size_fails("-1"));
  CHECK(size_fails("-1m"));
  CHECK(size_fails("0"));
  CHECK(size_fails("0m"));
  CHECK(size_fails("0.1b"));
  CHECK(size_fails("12q"));
  CHECK(size_fails("m"));
  CHECK(size_fails("1.m"));
  CHECK(size_fails(".5m"));
  CHECK(size_fails("1mm"));
  CHECK(size_fails("1  m"));
  CHECK(size_fails("0x10"));
  CHECK(size_fails("1e3"));
  CHECK(size_fails("8192p"));
  CHECK(size_fails("99999999999999999999"));
  CHECK(error_of([] { cg::parse_size("-1"); }).find("negative") != std::string::npos);
}

TEST("cgroup: MiB values are whole, positive numbers (zero only for --swap)") {
  CHECK(cg::parse_mib("512") == 512ULL << 20);
  CHECK(cg::parse_mib("0", true) == 0);
  CHECK(!error_of([] { cg::parse_mib("0"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("-3"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("1.5"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("512m"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("9000000000000"); }).empty());
}

TEST("cgroup: CPUs are fractional, from 0.01 to the host's count") {
  CHECK(cg::parse_cpus("0.5", 2) == 500000000ULL);
  CHECK(cg::parse_cpus("2", 2) == 2000000000ULL);
  CHECK(cg::parse_cpus("2.0", 2) == 2000000000ULL);
  CHECK(cg::parse_cpus("0.01", 2) == 10000000ULL);
  CHECK(cg::parse_cpus("1.333333333", 2) == 1333333333ULL);
  std::string range = error_of([] { cg::parse_cpus("1000", 2); });
  CHECK(range.find("range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available") !=
        std::string::npos);
  for (const char *bad : {"0", "0.0", "0.009", "2.5", "-1", "", "abc", "1.", ".5", "1e0", "1/2",
                          "0.5 ", "1.0000000001", "nan", "inf"})
    CHECK(!error_of([&] { cg::parse_cpus(bad, 2); }).empty());
}

TEST("cgroup: pids limits are 1 to PID_MAX_LIMIT") {
  CHECK(cg::parse_pids("20") == 20);
  CHECK(cg::parse_pids("4194304") == 4194304);
  for (const char *bad : {"0", "-3", "abc", "", "4194305", "1.5", "20 "})
    CHECK(!error_of([&] { cg::parse_pids(bad); }).empty());
}

TEST("cgroup: parse_limit_option names the option in its message") {
  cg::Limits l;
  cg::parse_limit_option(l, "--mem", "64");
  CHECK(l.memory == 64ULL << 20);
  cg::parse_limit_option(l, "-m", "32m");
  CHECK(l.memory == 32ULL << 20);
  cg::parse_limit_option(l, "--swap", "0");
  CHECK(l.swap == 0ULL);
  cg::parse_limit_option(l, "--cpus", "0.01");
  CHECK(l.nano_cpus == 10000000ULL);
  cg::parse_limit_option(l, "--pids-limit", "7");
  CHECK(l.pids == 7ULL);
  CHECK(!l.empty());
  CHECK(cg::Limits{}.empty());
  std::string e = error_of([&] { cg::parse_limit_option(l, "--memory", "12q"); });
  CHECK(e.rfind("invalid --memory value '12q': ", 0) == 0);
  e = error_of([&] { cg::parse_limit_option(l, "--pids", "-3"); });
  CHECK(e.rfind("invalid --pids value '-3': ", 0) == 0);
  bool threw = false;
  try {
    cg::parse_limit_option(l, "--bogus", "1");
  } catch (const std::invalid_argument &) {
    threw = true;
  }
  CHECK(threw);
}

TEST("cgroup: limits are checked together") {
  cg::Limits l;
  l.swap = 100ULL << 20;
  CHECK(error_of([&] { cg::check_limits(l); }).find("--swap needs a memory limit") !=
        std::string::npos);
  l.memory = 1ULL << 20;
  CHECK(error_of([&] { cg::check_limits(l); }).find("the minimum is 6MiB") != std::string::npos);
  l.memory = cg::MIN_MEMORY;
  CHECK(error_of([&] { cg::check_limits(l); }).empty());
  l.memory = 1ULL << 62;
  l.swap = 1ULL << 62;
  CHECK(!error_of([&] { cg::check_limits(l); }).empty());
  CHECK(error_of([] { cg::check_limits({}); }).empty());
}

TEST("cgroup: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128, never a path") {
  CHECK(cg::valid_name("kt-1"));
  CHECK(cg::valid_name("a"));
  CHECK(cg::valid_name("A.b_c-9"));
  CHECK(cg::valid_name(std::string(128, 'x')));
  CHECK(!cg::valid_name(std::string(129, 'x')));
  for (const char *bad : {"", ".", "..", "a/b", "/a", "a..b", "-a", ".a", "_a", "a b", "a\n",
                          "koker/x", "a/../b", "é"})
    CHECK(!cg::valid_name(bad));
  CHECK(error_of([] { cg::check_name("a/b"); }).rfind("invalid cgroup name 'a/b'", 0) == 0);
}

TEST("cgroup: mode names") {
  CHECK(cg::mode_name(cg::Mode::v1) == "v1");
  CHECK(cg::mode_name(cg::Mode::hybrid) == "hybrid");
  CHECK(cg::mode_name(cg::Mode::v2) == "v2");
}

// ---------------------------------------------------------------- OCI groups

static std::string path_error(std::string_view path) {
  return error_of([&] { cg::parse_path(path, "id1"); });
}

TEST("cgroup: cgroupsPath in cgroupfs form: absolute, relative, none; '..' refused") {
  auto p = cg::parse_path("/a/b", "id1");
  CHECK(p.base == cg::Base::root && p.path == "a/b");
  p = cg::parse_path("a//b/./c/", "id1");
  CHECK(p.base == cg::Base::own && p.path == "a/b/c");
  p = cg::parse_path("", "id1"); // runc: the ID, under the caller's own group
  CHECK(p.base == cg::Base::own && p.path == "id1");
  p = cg::parse_path("/libpod_parent/libpod-1234", "id1");
  CHECK(p.base == cg::Base::root && p.path == "libpod_parent/libpod-1234");
  CHECK(path_error("../x").find("invalid cgroupsPath '../x': '..' is not allowed") == 0);
  CHECK(!path_error("/a/../b").empty());
  CHECK(!path_error("/a/..").empty());
  CHECK(path_error("/").find("names the root of the hierarchy") != std::string::npos);
  CHECK(!path_error(".").empty());
  CHECK(!path_error("//./").empty());
  CHECK(path_error("/a\nb").find("a control character") != std::string::npos);
  CHECK(!path_error("/" + std::string(256, 'x')).empty());
  CHECK(path_error("/a..b/c.d").empty()); // dots inside a name are a name
}

static std::string systemd_path(std::string_view path) {
  auto p = cg::parse_systemd_path(path, "id1");
  CHECK(p.base == cg::Base::init);
  return p.path;
}

static std::string systemd_error(std::string_view path) {
  return error_of([&] { cg::parse_systemd_path(path, "id1"); });
}

TEST("cgroup: cgroupsPath in systemd's form slice:prefix:name, as systemd names the unit") {
  CHECK(systemd_path("system.slice:docker:abc") == "system.slice/docker-abc.scope");
  CHECK(systemd_path("machine.slice:libpod:123") == "machine.slice/libpod-123.scope");
  CHECK(systemd_path("a-b-c.slice:p:n") == "a.slice/a-b.slice/a-b-c.slice/p-n.scope");
  CHECK(systemd_path(":cri-containerd:x") == "system.slice/cri-containerd-x.scope");
  CHECK(systemd_path("-.slice:p:n") == "p-n.scope");
  CHECK(systemd_path("user.slice:p:my.slice") == "user.slice/my.slice"); // a slice, no scope
  CHECK(systemd_path("") == "system.slice/koker-id1.scope");
  CHECK(systemd_error("system.slice/x").find(
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, "
            "got \"system.slice/x\" instead") == 0);
  CHECK(!systemd_error("a:b").empty());
  CHECK(!systemd_error("a:b:c:d").empty());
  CHECK(systemd_error("system:p:n") == "invalid slice name: system");
  CHECK(systemd_error("a--b.slice:p:n") == "invalid slice name: a--b.slice");
  CHECK(systemd_error("-a.slice:p:n") == "invalid slice name: -a.slice");
  CHECK(systemd_error("a/b.slice:p:n") == "invalid slice name: a/b.slice");
  CHECK(!systemd_error("system.slice:p:../x").empty());
  CHECK(systemd_path("system.slice:..:x") == "system.slice/..-x.scope"); // a name, not a climb
}

TEST("cgroup: systemd's slice expansion") {
  CHECK(cg::expand_slice("system.slice") == "system.slice");
  CHECK(cg::expand_slice("a-b.slice") == "a.slice/a-b.slice");
  CHECK(cg::expand_slice("-.slice").empty());
  for (const char *bad : {".slice", "slice", "a-.slice", "a.scope", "", "a/b.slice"})
    CHECK(!error_of([&] { cg::expand_slice(bad); }).empty());
}

TEST("cgroup: device rules as devices.allow takes them") {
  cg::DeviceRule all;
  CHECK(all.line() == "a *:* rwm");
  CHECK((cg::DeviceRule{true, "c", 1, 3, "rwm"}.line() == "c 1:3 rwm"));
  CHECK((cg::DeviceRule{true, "c", 136, std::nullopt, "rw"}.line() == "c 136:* rw"));
  CHECK((cg::DeviceRule{false, "b", std::nullopt, 7, "m"}.line() == "b *:7 m"));
}

namespace {

// A fake cgroup root (KOKER_CGROUP_ROOT) for one test, removed after.
struct FakeRoot {
  std::string path;
  FakeRoot() {
    char t[] = "/tmp/koker-unit-cgroup-XXXXXX";
    if (!::mkdtemp(t))
      sys_fail("mkdtemp");
    path = t;
    ::setenv("KOKER_CGROUP_ROOT", path.c_str(), 1);
  }
  ~FakeRoot() {
    ::unsetenv("KOKER_CGROUP_ROOT");
    sys::rm_rf(path);
  }
  void mkdir(const std::string &rel) const { sys::mkdir_p(path + "/" + rel); }
  void put(const std::string &rel, const std::string &text) const {
    sys::write_file_atomic(path + "/" + rel, text, 0644, false);
  }
  std::string get(const std::string &rel) const {
    return sys::read_file_if_exists(path + "/" + rel).value_or("(none)");
  }
  bool has(const std::string &rel) const { return sys::exists(path + "/" + rel); }
};

// A v1 host as this one: cpu and cpuacct apart, cpuset with two CPUs, blkio, and a unified
// tree without controllers (hybrid).
void hybrid(const FakeRoot &r) {
  for (const char *h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                        "pids", "unified"})
    r.mkdir(h);
  r.put("cpuset/cpuset.cpus", "0-1\n");
  r.put("cpuset/cpuset.mems", "0\n");
  r.put("memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  r.put("unified/cgroup.controllers", "");
}

} // namespace

TEST("cgroup: an OCI group on a hybrid fake root: made, written, extended, removed") {
  FakeRoot r;
  hybrid(r);
  cg::Resources res;
  res.memory_limit = 64 << 20;
  res.memory_swap = 128 << 20;
  res.memory_kernel_tcp = 1 << 20;
  res.memory_swappiness = 10;
  res.disable_oom_killer = true;
  res.pids_limit = -1;
  res.devices = {{true, "c", 10, 229, "rwm"}, {false, "c", 1, 3, "w"}};
  auto g = cg::Group::resolve("/a/b", cg::parse_path("/a/b", "x"), res);
  // cpu, cpuset and blkio are left out: nothing set there.
  CHECK(g.spare().size() == 3 && g.paths().size() == 6);
  CHECK(g.made().size() == 6 && g.made()[0] == r.path + "/cpuacct/a");
  CHECK(!r.has("memory/a")); // nothing made yet
  cg::Seed seed;
  g.prepare(seed);
  CHECK(r.has("unified/a/b") && r.has("memory/a") && !r.has("memory/a/b"));
  CHECK(seed.unified && seed.v1_parents.size() == 5);
  CHECK(seed.v1_parents[0].second == r.path + "/cpuacct/a");
  g.create_v1(res);
  CHECK(g.leaf() == "b");
  CHECK(r.get("memory/a/b/memory.limit_in_bytes") == std::to_string(64 << 20));
  CHECK(r.get("memory/a/b/memory.memsw.limit_in_bytes") == std::to_string(128 << 20));
  CHECK(r.get("memory/a/b/memory.kmem.tcp.limit_in_bytes") == std::to_string(1 << 20));
  CHECK(r.get("memory/a/b/memory.swappiness") == "10");
  CHECK(r.get("memory/a/b/memory.oom_control") == "1");
  CHECK(r.get("pids/a/b/pids.max") == "max");
  CHECK(r.get("devices/a/b/devices.allow") == "c 10:229 rwm"); // the fake keeps the last write
  CHECK(r.get("devices/a/b/devices.deny") == "c 1:3 w");
  CHECK(!r.has("cpu/a"));
  // An update with a CPU quota joins the cpu hierarchy; cpuset starts with its parent's CPUs.
  cg::Resources up;
  up.cpu_quota = 20000;
  up.cpuset_cpus = "1";
  CHECK(g.extend(up));
  CHECK(g.spare().size() == 1 && g.paths().size() == 8);
  g.apply(up);
  CHECK(r.get("cpu/a/b/cpu.cfs_quota_us") == "20000");
  CHECK(r.get("cpuset/a/cpuset.cpus") == "0-1" && r.get("cpuset/a/cpuset.mems") == "0");
  CHECK(r.get("cpuset/a/b/cpuset.cpus") == "1" && r.get("cpuset/a/b/cpuset.mems") == "0");
  CHECK(!g.extend(up)); // joined already
  // Reopened from the record, as every later koker-oci command does.
  auto again = cg::Group::open_dirs(g.name(), g.paths(), g.made(), g.spare());
  CHECK(again && again->paths().size() == 8 && again->leaf() == "b");
  again->remove(true);
  for (const char *h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids",
                        "unified"})
    CHECK(!r.has(std::string(h) + "/a"));
  CHECK(!cg::Group::open_dirs(g.name(), g.paths(), g.made(), g.spare()));
}

TEST("cgroup: an OCI group refuses an unmounted controller, a busy group, and v2 files on v1") {
  FakeRoot r;
  hybrid(r);
  cg::Resources res;
  res.hugepage_limits = {{"2MB", 1 << 30}};
  CHECK(error_of([&] { cg::Group::resolve("/a", cg::parse_path("/a", "x"), res); }) ==
        "unable to set the huge page limits of cgroup /a: no hugetlb controller is mounted on "
        "this hybrid host");
  res = {};
  res.net_cls_classid = 255;
  CHECK(error_of([&] { cg::Group::resolve("/a", cg::parse_path("/a", "x"), res); })
            .find("no net_cls controller is mounted") != std::string::npos);
  res = {};
  res.unified["memory.high"] = "1G";
  CHECK(error_of([&] { cg::Group::resolve("/a", cg::parse_path("/a", "x"), res); })
            .find("it holds cgroup v2 files") != std::string::npos);
  res = {};
  res.memory_swappiness = 101;
  auto g = cg::Group::resolve("/a", cg::parse_path("/a", "x"), res);
  cg::Seed seed;
  g.prepare(seed);
  CHECK(error_of([&] { g.create_v1(res); }) ==
        "invalid memory swappiness value: 101 (valid range is 0-100)");
  g.remove(true);
  CHECK(!r.has("memory/a") && !r.has("unified/a"));
  // A group that exists with a process in it is someone else's.
  r.mkdir("pids/busy");
  r.put("pids/busy/cgroup.procs", "4242\n");
  auto busy = cg::Group::resolve("/busy", cg::parse_path("/busy", "x"), {});
  cg::Seed seed2;
  CHECK(error_of([&] { busy.prepare(seed2); }).find("exists and has processes") !=
        std::string::npos);
  CHECK(!r.has("memory/busy"));
}

TEST("cgroup: an OCI group on a v2 fake root: runc's conversions") {
  FakeRoot r;
  r.put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  r.put("cgroup.subtree_control", "");
  r.mkdir("k"); // there already, with swap accounting: not the group's to remove
  r.put("k/memory.swap.max", "max");
  cg::Resources res;
  res.memory_limit = 64 << 20;
  res.memory_swap = 96 << 20;
  res.memory_reservation = 32 << 20;
  res.cpu_shares = 1024;
  res.cpu_quota = 50000;
  res.pids_limit = 10;
  res.blkio_weight = 500;
  res.blkio_throttle_read_bps = {{8, 0, 1000}};
  res.hugepage_limits = {{"2MB", 1 << 21}};
  res.unified["memory.high"] = "50M";
  res.devices = {{true, "c", 1, 3, "rwm"}};
  auto g = cg::Group::resolve("/k/c", cg::parse_path("/k/c", "x"), res);
  cg::Seed seed;
  g.prepare(seed);
  g.create_v1(res);
  CHECK(r.get("cgroup.subtree_control") == "+memory +pids +cpu +cpuset +io +hugetlb +rdma +misc");
  CHECK(r.get("k/cgroup.subtree_control") == r.get("cgroup.subtree_control"));
  CHECK(r.get("k/c/memory.max") == std::to_string(64 << 20));
  CHECK(r.get("k/c/memory.low") == std::to_string(32 << 20));
  CHECK(r.get("k/c/memory.swap.max") == std::to_string(32 << 20)); // swap alone on v2
  CHECK(r.get("k/c/cpu.weight") == "39");
  CHECK(r.get("k/c/cpu.max") == "50000 100000");
  CHECK(r.get("k/c/pids.max") == "10");
  CHECK(r.get("k/c/io.weight") == "4950");
  CHECK(r.get("k/c/io.max") == "8:0 rbps=1000");
  CHECK(r.get("k/c/hugetlb.2MB.max") == "2097152");
  CHECK(r.get("k/c/memory.high") == "50M");
  CHECK(g.made().empty());
  g.remove(true);
  CHECK(!r.has("k/c") && r.has("k"));
}

TEST("cgroup: a rootless container's delegated subtree is kept in its record, root's record unchanged") {
  container::Record r;
  r.id = std::string(64, 'c');
  json::Value plain = r.to_json();
  CHECK(plain.find("HostConfig")->find("CgroupParent") == nullptr); // root: as before
  r.cgroup_parent = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service";
  auto back = container::Record::from_json(r.to_json(), "test");
  CHECK(back.cgroup_parent == r.cgroup_parent);
  CHECK(container::Record::from_json(plain, "test").cgroup_parent.empty());
}
