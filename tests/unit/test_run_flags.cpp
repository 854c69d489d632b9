// SPDX-License-Identifier: MIT
#include "base/error.hpp"
#include "check.hpp"
#include "runtime/run_flags.hpp"
#include "runtime/user.hpp"

using namespace koker;

namespace {
template <class F> bool throws(F f) {
  try {
    f();
  } catch (const Error &) {
    return true;
  }
  return false;
}
} // namespace

TEST("run_flags: --ulimit as go-units parses it") {
  auto u = run_flags::parse_ulimit("nofile=100:200");
  CHECK(u.name == "nofile" && u.soft == 100 && u.hard == 200);
  CHECK(run_flags::rlimit_name(u) == "RLIMIT_NOFILE");
  auto same = run_flags::parse_ulimit("nproc=50");
  CHECK(same.soft == 50 && same.hard == 50);
  auto unlimited = run_flags::parse_ulimit("core=-1");
  CHECK(unlimited.soft == -1 && unlimited.hard == -1);
  CHECK(run_flags::parse_ulimit("core=10:-1").hard == -1);
  for (const char *bad : {"nofile", "nosuch=1", "nofile=x", "nofile=20:10", "nofile=1:2:3",
                          "nofile=-1:10", "nofile=-2", "nofile="})
    CHECK(throws([bad] { run_flags::parse_ulimit(bad); }));
}

TEST("run_flags: --device as docker's parseDevice splits it") {
  auto d = run_flags::parse_device("/dev/fuse");
  CHECK(d.path_on_host == "/dev/fuse" && d.path_in_container == "/dev/fuse" &&
        d.cgroup_permissions == "rwm");
  d = run_flags::parse_device("/dev/fuse:r");
  CHECK(d.path_in_container == "/dev/fuse" && d.cgroup_permissions == "r");
  d = run_flags::parse_device("/dev/fuse:/dev/f");
  CHECK(d.path_in_container == "/dev/f" && d.cgroup_permissions == "rwm");
  d = run_flags::parse_device("/dev/fuse:/dev/f:mw");
  CHECK(d.path_in_container == "/dev/f" && d.cgroup_permissions == "mw");
  for (const char *bad : {"fuse", "/dev/fuse:f", "/dev/fuse:/dev/f:rwx", "/dev/fuse:/dev/f:rr",
                          "/a:/b:r:x", "/dev/fuse:/dev/../x"})
    CHECK(throws([bad] { run_flags::parse_device(bad); }));
  CHECK(throws([] { run_flags::device_node(run_flags::parse_device("/etc/passwd")); }));
  auto null = run_flags::device_node(run_flags::parse_device("/dev/null:/dev/n"));
  CHECK(null.path == "/dev/n" && null.type == 'c' && null.major == 1 && null.minor == 3);
}

TEST("run_flags: --add-host, --dns and --dns-search") {
  auto h = run_flags::parse_add_host("db:10.0.0.2");
  CHECK(h.first == "db" && h.second == "10.0.0.2");
  CHECK(run_flags::parse_add_host("gw=host-gateway").second == "host-gateway");
  CHECK(run_flags::parse_add_host("v6:[::1]").second == "::1");
  CHECK(run_flags::parse_add_host("v6:::1").second == "::1");
  for (const char *bad : {"db", ":10.0.0.2", "db:10.0.0", "db:", "d b:10.0.0.1"})
    CHECK(throws([bad] { run_flags::parse_add_host(bad); }));
  run_flags::check_dns("10.0.0.53");
  run_flags::check_dns("2001:db8::1");
  CHECK(throws([] { run_flags::check_dns("10.0.0"); }));
  CHECK(throws([] { run_flags::check_dns("ns.example.com"); }));
  run_flags::check_dns_search("example.com");
  run_flags::check_dns_search("example.com.");
  run_flags::check_dns_search(".");
  for (const char *bad : {"", "-a.com", "a..com", "a_b.com", "a b"})
    CHECK(throws([bad] { run_flags::check_dns_search(bad); }));
}

TEST("run_flags: --sysctl allows what a container's namespaces hold, as docker") {
  CHECK(run_flags::parse_sysctl("net.ipv4.ip_forward=1", false).first == "net.ipv4.ip_forward");
  CHECK(run_flags::parse_sysctl("kernel.shmmax=1", false).second == "1");
  CHECK(run_flags::parse_sysctl("fs.mqueue.msg_max=20", true).first == "fs.mqueue.msg_max");
  CHECK(run_flags::parse_sysctl("kernel.sem=1 2 3 4", false).second == "1 2 3 4");
  for (const char *bad : {"kernel.hostname=x", "vm.swappiness=1", "net.ipv4.ip_forward", "net..x=1",
                          "net.ipv4/../x=1", "kernel.shmmaxx=1"})
    CHECK(throws([bad] { run_flags::parse_sysctl(bad, false); }));
  CHECK(throws([] { run_flags::parse_sysctl("net.ipv4.ip_forward=1", true); }));
  CHECK(run_flags::parse_stop_timeout("0") == 0 && run_flags::parse_stop_timeout("30") == 30);
  CHECK(throws([] { run_flags::parse_stop_timeout("-1"); }));
  CHECK(throws([] { run_flags::parse_stop_timeout("86401"); }));
}

TEST("run_flags: a docker seccomp profile becomes linux.seccomp as moby's setupSeccomp makes it") {
  const char *profile = R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
    "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]},
               {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],
    "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
      {"name":"mount","action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
      {"names":["chown"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_CHOWN"]}},
      {"names":["s390_only"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["s390x"]}},
      {"names":["new"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"99.0"}},
      {"names":["personality"],"action":"SCMP_ACT_ALLOW",
       "args":[{"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"}]},
      {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]})";
  auto v = run_flags::seccomp_from_docker(profile, 1u << 21 /* SYS_ADMIN */, "p.json");
  std::string text = v.dump();
  CHECK(text.find(R"("defaultErrnoRet":1)") != std::string::npos);
#if defined(__x86_64__)
  CHECK(text.find(R"("architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"])") != std::string::npos);
#endif
  CHECK(text.find(R"("names":["mount"])") != std::string::npos); // name -> names, with the cap
  CHECK(text.find(R"("names":["chown"])") != std::string::npos); // CAP_CHOWN not held
  CHECK(text.find("s390_only") == std::string::npos);
  CHECK(text.find(R"("new")") == std::string::npos);
  CHECK(text.find(R"({"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"})") != std::string::npos);
  CHECK(text.find(R"("errnoRet":38)") != std::string::npos);
  auto chown_held = run_flags::seccomp_from_docker(profile, 1u << 0 /* CHOWN */, "p.json").dump();
  CHECK(chown_held.find("chown") == std::string::npos &&
        chown_held.find("mount") == std::string::npos);
  for (const char *bad :
       {R"({"syscalls":[]})", R"({"defaultAction":"SCMP_ACT_ALLOW",
      "architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]})",
        R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"]}]})",
        R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":"x"})", "{", "[]"})
    CHECK(throws([bad] { run_flags::seccomp_from_docker(bad, 0, "p.json"); }));
}

TEST("user: --group-add's groups by name or number in the image's group file") {
  const char *group = "root:x:0:\nextra:x:2000:koker\n";
  CHECK(user::find_group("extra", group) == 2000);
  CHECK(user::find_group("0", group) == 0);
  CHECK(user::find_group("4321", group) == 4321);
  CHECK(throws([group] { user::find_group("nosuch", group); }));
}
