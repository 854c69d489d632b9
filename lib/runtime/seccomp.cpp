// SPDX-License-Identifier: MIT
#include "runtime/seccomp.hpp"
#include "runtime/seccomp_bpf.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <sys/utsname.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <memory>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace koker::seccomp {

namespace {

using seccomp_bpf::Asm;
using seccomp_bpf::export_bpf;
using seccomp_bpf::lib_fail;
using seccomp_bpf::LAST_COMMON_NR;
using seccomp_bpf::X32_BIT;

// The behaviour of moby's profiles/seccomp/default.json (with moby#47341's additions for kernels
// 5.17-6.7), resolved for an amd64 host: rules whose "includes.arches" name amd64 apply to all
// three ABIs of the filter, as in moby. Allowed for every container:
constexpr const char *ALWAYS[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
    "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
    "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
    // "minKernel": "4.8" (ptrace can no longer bypass seccomp), true of every kernel koker runs on.
    "process_vm_readv", "process_vm_writev", "ptrace",
    // "arches": amd64, x32 (and x86 for modify_ldt).
    "arch_prctl", "modify_ldt"};

// Syscalls a capability unlocks ("includes.caps"); the capability check stays the kernel's,
// the filter only stops containers without the capability from reaching the code at all.
struct CapGroup {
  int cap;
  const char *names[24];
};
constexpr CapGroup BY_CAP[] = {
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    {CAP_SYS_ADMIN, {"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
                     "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
                     "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
                     "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
                     "umount",        "umount2",       "unshare"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_PTRACE,
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
    {CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
};

// personality(2) personas a container may pick: PER_LINUX, UNAME26, PER_LINUX32,
// PER_LINUX32|UNAME26, and 0xffffffff, which only queries.
constexpr uint64_t PERSONAS[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// Without CAP_SYS_ADMIN, clone(2) may not create namespaces: flags & NS_FLAGS must be 0.
constexpr uint64_t NS_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                              CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;


Stats g_stats;

using Ctx = std::unique_ptr<void, decltype(&seccomp_release)>;

// Adds rules and remembers the highest syscall numbers they name. Names libseccomp does not know
// are skipped, as runc does; such syscalls then get ENOSYS or the default action.
class Builder {
public:
  explicit Builder(scmp_filter_ctx ctx) : m_ctx(ctx) {}

  bool add(const char *name, uint32_t action, std::initializer_list<scmp_arg_cmp> args = {}) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
      log::debug("seccomp: ", name, " is unknown to libseccomp ", SCMP_VER_MAJOR, ".",
                 SCMP_VER_MINOR, ".", SCMP_VER_MICRO, ", skipped");
      return false;
    }
    int rc = seccomp_rule_add_array(m_ctx, action, nr, static_cast<unsigned>(args.size()),
                                    args.size() ? args.begin() : nullptr);
    if (rc < 0)
      lib_fail(rc, cat("add the seccomp rule for ", name));
    m_rules++;
    m_max64 = std::max(m_max64, seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name));
    m_max32 = std::max(m_max32, seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name));
    return true;
  }
  int rules() const { return m_rules; }
  uint32_t max64() const { return static_cast<uint32_t>(m_max64); }
  uint32_t max32() const { return static_cast<uint32_t>(m_max32); }

private:
  scmp_filter_ctx m_ctx;
  int m_rules = 0;
  int m_max64 = 0, m_max32 = 0;
};

// socket(2) for every family but AF_VSOCK, which reaches the hypervisor's sockets that no
// network namespace covers. Docker's "arg0 != 40" compares 64 bits, so 0x100000028 passes
// and the kernel, which reads an int, makes a vsock socket. These rules also require the upper
// half to be 0: families 0-39, 41, 42-43, 44-47, 48-63 (AF_MAX is 46 in Linux 6.18). i386's
// socketcall(2) passes its arguments in memory and stays open, as in Docker.
std::vector<scmp_arg_cmp> socket_families() {
  return {scmp_arg_cmp{0, SCMP_CMP_LT, AF_VSOCK, 0}, scmp_arg_cmp{0, SCMP_CMP_EQ, AF_VSOCK + 1, 0},
          scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, ~uint64_t{1}, 42},
          scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, ~uint64_t{3}, 44},
          scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, ~uint64_t{15}, 48}};
}

// The names allowed without conditions for a container holding caps, sorted, once each.
std::vector<const char *> allowed_names(caps::Set caps) {
  std::vector<const char *> allow(std::begin(ALWAYS), std::end(ALWAYS));
  for (const auto &g : BY_CAP)
    if ((caps >> g.cap) & 1)
      for (const char *n : g.names)
        if (n)
          allow.push_back(n);
  auto less = [](const char *a, const char *c) { return std::strcmp(a, c) < 0; };
  auto same = [](const char *a, const char *c) { return std::strcmp(a, c) == 0; };
  std::sort(allow.begin(), allow.end(), less);
  allow.erase(std::unique(allow.begin(), allow.end(), same), allow.end());
  return allow;
}

// Fills the filter; returns how many syscall names it allows.
int add_profile(Builder &b, caps::Set caps) {
  auto has = [caps](int cap) { return (caps >> cap) & 1; };
  std::vector<const char *> allow = allowed_names(caps);
  int allowed = 0;
  for (const char *n : allow)
    allowed += b.add(n, SCMP_ACT_ALLOW);

  bool persona = false;
  for (uint64_t p : PERSONAS)
    persona |= b.add("personality", SCMP_ACT_ALLOW, {{0, SCMP_CMP_EQ, p, 0}});
  allowed += persona;
  bool socket = false;
  for (scmp_arg_cmp family : socket_families())
    socket |= b.add("socket", SCMP_ACT_ALLOW, {family});
  allowed += socket;
  if (!has(CAP_SYS_ADMIN)) {
    allowed += b.add("clone", SCMP_ACT_ALLOW, {{0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0}});
    // clone3 passes its flags in memory, out of seccomp's reach: ENOSYS makes libc fall back
    // to clone, whose flags the rule above checks (moby#42681).
    b.add("clone3", SCMP_ACT_ERRNO(ENOSYS));
  }
  return allowed;
}

// The same profile in an OCI config's terms (linux.seccomp), for the config.json koker-run
// writes: what runc would load for the container. Built from the tables add_profile uses, as
// compact JSON text: a tree of a thousand Values would cost every start some fifty page
// faults.
std::string profile_json(caps::Set caps, bool x32) {
  auto has = [caps](int cap) { return (caps >> cap) & 1; };
  std::vector<const char *> allow = allowed_names(caps);
  std::string out;
  out.reserve(12 << 10);
  out += cat("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":", EPERM,
             ",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"",
             x32 ? ",\"SCMP_ARCH_X32\"" : "", "],\"syscalls\":[{\"names\":[");
  for (size_t i = 0; i < allow.size(); ++i)
    out += cat(i ? "," : "", "\"", allow[i], "\"");
  out += "],\"action\":\"SCMP_ACT_ALLOW\"}";
  auto rule = [&out](const char *name, const char *action, const std::vector<scmp_arg_cmp> &args,
                     int errno_ret = 0) {
    out += cat(",{\"names\":[\"", name, "\"],\"action\":\"", action, "\"");
    if (errno_ret)
      out += cat(",\"errnoRet\":", errno_ret);
    if (!args.empty()) {
      out += ",\"args\":[";
      for (size_t i = 0; i < args.size(); ++i) {
        const scmp_arg_cmp &a = args[i];
        const char *op = a.op == SCMP_CMP_EQ ? "SCMP_CMP_EQ"
                         : a.op == SCMP_CMP_LT ? "SCMP_CMP_LT"
                                               : "SCMP_CMP_MASKED_EQ";
        out += cat(i ? "," : "", "{\"index\":", a.arg, ",\"value\":", a.datum_a,
                   ",\"valueTwo\":", a.datum_b, ",\"op\":\"", op, "\"}");
      }
      out += "]";
    }
    out += "}";
  };
  for (uint64_t p : PERSONAS)
    rule("personality", "SCMP_ACT_ALLOW", {{0, SCMP_CMP_EQ, p, 0}});
  for (scmp_arg_cmp family : socket_families())
    rule("socket", "SCMP_ACT_ALLOW", {family});
  if (!has(CAP_SYS_ADMIN)) {
    rule("clone", "SCMP_ACT_ALLOW", {{0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0}});
    rule("clone3", "SCMP_ACT_ERRNO", {}, ENOSYS);
  }
  out += "]}";
  return out;
}

// Whether the kernel runs x32 syscalls: Debian's kernels build the ABI but leave it off unless
// booted with syscall.x32=y. Without it every x32 syscall fails with ENOSYS anyway, so the
// filter can leave x32 out (a third of libseccomp's work) and answer ENOSYS itself.
// The probe runs only when no filter is in force yet: one may treat x32 as a bad arch and kill
// us (systemd's SystemCallArchitectures=native); x32 then stays in, as in Docker.
bool kernel_has_x32() {
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
    return true;
  int saved = errno;
  bool has = ::syscall(X32_BIT | SYS_getpid) >= 0;
  errno = saved;
  return has;
}

// A prologue in front of libseccomp's program, like runc's patchbpf: a syscall numbered past the
// highest one in the table is newer than the profile, so it gets ENOSYS (what a kernel says of
// syscalls it lacks, and what libc falls back on) rather than EPERM. libseccomp cannot say this
// itself: it refuses rules for numbers it has no name for once a filter has several arches.
std::vector<sock_filter> prologue(uint32_t max64, uint32_t max32, bool x32) {
  Asm a;
  a.load(offsetof(seccomp_data, arch));
  a.jump(BPF_JEQ, AUDIT_ARCH_X86_64, Asm::NEXT, Asm::I386);
  a.load(offsetof(seccomp_data, nr));
  a.jump(BPF_JGE, X32_BIT, Asm::X32, Asm::NATIVE);
  a.label(Asm::X32);
  if (x32) {
    // 512 and up are x32's own entry points; the common numbers follow x86_64's.
    a.jump(BPF_JGT, X32_BIT | LAST_COMMON_NR, Asm::BODY, Asm::NEXT);
    a.jump(BPF_JGT, X32_BIT | max64, Asm::NOSYS, Asm::BODY);
  } else {
    a.ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  a.label(Asm::NATIVE);
  a.jump(BPF_JGT, max64, Asm::NOSYS, Asm::BODY);
  a.label(Asm::I386);
  a.jump(BPF_JEQ, AUDIT_ARCH_I386, Asm::NEXT, Asm::BODY);
  a.load(offsetof(seccomp_data, nr));
  a.jump(BPF_JGT, max32, Asm::NOSYS, Asm::BODY);
  a.label(Asm::NOSYS);
  a.ret(SECCOMP_RET_ERRNO | ENOSYS);
  a.label(Asm::BODY);
  return a.code();
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

Filter build_default(caps::Set caps) {
  auto start = std::chrono::steady_clock::now();
  Ctx ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)), seccomp_release);
  if (!ctx)
    fail("unable to create a seccomp filter: seccomp_init failed");
  // koker sets no_new_privs itself when asked; TSYNC is for threads, which it does not have.
  // CTL_OPTIMIZE 2 sorts the syscalls into a binary tree. That costs ~10 ms more to build, once
  // per store (the filter is cached), and saves ~0.2 ms at every start: seccomp(2) (Linux 5.11+)
  // runs the filter once per syscall number and arch to cache the verdicts that need no
  // argument, which a linear list makes ~400 x 2 long walks (seccomp_cache_prepare).
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    lib_fail(rc, "clear the seccomp attribute CTL_NNP");
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 0); rc < 0)
    lib_fail(rc, "clear the seccomp attribute CTL_TSYNC");
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
    lib_fail(rc, "set the seccomp attribute CTL_OPTIMIZE");
  // Docker's archMap for amd64: i386 and x32 programs run too, under the same rules.
  Filter f;
  f.stats.arches = "x86_64 x86";
  std::vector<uint32_t> arches{SCMP_ARCH_X86};
  bool x32 = kernel_has_x32();
  if (x32) {
    arches.push_back(SCMP_ARCH_X32);
    f.stats.arches += " x32";
  }
  for (uint32_t arch : arches)
    if (int rc = seccomp_arch_add(ctx.get(), arch); rc < 0 && rc != -EEXIST)
      lib_fail(rc, "add an arch to the seccomp filter");

  Builder b(ctx.get());
  f.stats.allowed = add_profile(b, caps);
  f.stats.rules = b.rules();
  f.stats.enosys = static_cast<int>(LAST_COMMON_NR - b.max64()) + !((caps >> CAP_SYS_ADMIN) & 1);
  f.stats.max_nr = b.max64();
  f.prog = prologue(b.max64(), b.max32(), x32);
  std::vector<sock_filter> body = export_bpf(ctx.get());
  f.prog.insert(f.prog.end(), body.begin(), body.end());
  if (f.prog.size() > BPF_MAXINSNS)
    fail("unable to build the seccomp filter: ", f.prog.size(), " instructions, the kernel takes ",
         BPF_MAXINSNS);
  f.stats.build_ms = ms_since(start);
  return f;
}

void load(const Filter &filter) {
  const Stats &st = filter.stats;
  log::debug("seccomp: default action EPERM, ", st.allowed, " syscalls allowed, ", st.enosys,
             " ENOSYS (numbers past ", st.max_nr,
             st.enosys > int(LAST_COMMON_NR - st.max_nr) ? " and clone3" : "", "), arches ",
             st.arches, "; ", st.rules, " rules, ", filter.prog.size(),
             " BPF instructions, built in ", long(st.build_ms * 1000), " us");
  auto start = std::chrono::steady_clock::now();
  sock_fprog fprog{static_cast<unsigned short>(filter.prog.size()),
                   const_cast<sock_filter *>(filter.prog.data())};
  // No flags: no TSYNC, no SPEC_ALLOW. Without no_new_privs this needs CAP_SYS_ADMIN.
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
    sys_fail("unable to load the seccomp filter");
  g_stats = st;
  g_stats.load_ms = ms_since(start);
  log::debug("seccomp: filter loaded in ", long(g_stats.load_ms * 1000), " us");
}


Stats last_stats() { return g_stats; }

std::string default_profile(caps::Set caps) { return profile_json(caps, kernel_has_x32()); }

#ifndef KOKER_VERSION
#define KOKER_VERSION "0.0.0"
#endif

Filter cached_default(caps::Set caps, const std::string &cache_dir) {
  const scmp_version *v = seccomp_version();
  struct utsname u;
  ::uname(&u);
  // A cache key, not a security boundary (the cache is in the 0700 store).
  std::string inputs = cat("koker ", KOKER_VERSION, " libseccomp ", v->major, ".", v->minor, ".",
                           v->micro, " kernel ", u.release, " caps ", caps::hex(caps), " table ",
                           __DATE__, __TIME__);
  std::string path = cat(cache_dir, "/seccomp-", text::fnv1a_hex(inputs));
  if (auto data = sys::read_file_if_exists(path, 1 << 20)) {
    // Header: "allowed enosys rules max_nr instructions arches\n", then the instructions,
    // then the profile's JSON text.
    size_t nl = data->find('\n');
    Filter f;
    char arches[64] = {};
    size_t count = 0;
    if (nl != std::string::npos &&
        std::sscanf(data->c_str(), "%d %d %d %u %zu %63[^\n]", &f.stats.allowed,
                    &f.stats.enosys, &f.stats.rules, &f.stats.max_nr, &count, arches) == 6 &&
        count > 0 && count <= BPF_MAXINSNS &&
        data->size() - nl - 1 > count * sizeof(sock_filter)) {
      f.stats.arches = arches;
      f.prog.resize(count);
      std::memcpy(f.prog.data(), data->data() + nl + 1, count * sizeof(sock_filter));
      f.profile = data->substr(nl + 1 + count * sizeof(sock_filter));
      if (f.profile.front() == '{' && f.profile.back() == '}') {
        log::debug("seccomp: the filter for caps ", caps::hex(caps), " comes from ", path);
        return f;
      }
    }
    log::warn("ignoring a malformed seccomp cache file ", path);
  }
  Filter f = build_default(caps);
  f.profile = default_profile(caps);
  std::string out = cat(f.stats.allowed, " ", f.stats.enosys, " ", f.stats.rules, " ",
                        f.stats.max_nr, " ", f.prog.size(), " ", f.stats.arches, "\n");
  out.append(reinterpret_cast<const char *>(f.prog.data()), f.prog.size() * sizeof(sock_filter));
  out += f.profile;
  try {
    sys::mkdir_p(cache_dir, 0700);
    sys::write_file_atomic(path, out, 0600, false);
    log::debug("seccomp: cached the filter in ", path);
  } catch (const Error &e) {
    log::debug("seccomp: not cached: ", e.what()); // a read-only store still runs containers
  }
  return f;
}

} // namespace koker::seccomp
