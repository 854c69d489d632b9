// SPDX-License-Identifier: MIT
#include "runtime/oci_seccomp.hpp"
#include "runtime/seccomp_bpf.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <memory>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::oci {

namespace {

using seccomp_bpf::Asm;
using seccomp_bpf::export_bpf;
using seccomp_bpf::lib_fail;
using seccomp_bpf::LAST_COMMON_NR;
using seccomp_bpf::X32_BIT;


using Ctx = std::unique_ptr<void, decltype(&seccomp_release)>;

// runc's getAction: ERRNO and TRACE return errno_ret, EPERM when it is not given.
uint32_t action(const std::string &name, std::optional<unsigned> errno_ret) {
  unsigned err = errno_ret.value_or(EPERM);
  if (err > 0xffff) // the action's 16 data bits; parse_spec already refuses more
    fail("invalid seccomp errnoRet: ", err);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD")
    return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS")
    return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP")
    return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO")
    return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_TRACE")
    return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_ALLOW")
    return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG")
    return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY")
    fail("unable to build the seccomp filter: SCMP_ACT_NOTIFY needs a seccomp listener "
         "(listenerPath), which koker-oci does not support");
  fail("invalid seccomp action: ", printable(name));
}

scmp_compare op(const std::string &name) {
  if (name == "SCMP_CMP_NE")
    return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT")
    return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE")
    return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ")
    return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE")
    return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT")
    return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ")
    return SCMP_CMP_MASKED_EQ;
  fail("invalid seccomp operator: ", printable(name));
}

// "SCMP_ARCH_X86_64" is libseccomp's "x86_64" (runc's ConvertStringToArch).
uint32_t arch(const std::string &name) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (text::starts_with(name, prefix) && name.size() > prefix.size())
    token = seccomp_arch_resolve_name(text::lower(name.substr(prefix.size())).c_str());
  if (!token)
    fail("invalid seccomp architecture: ", printable(name));
  return token;
}

// Adds rules and remembers the highest syscall numbers the profile names on x86_64 and x86,
// for the ENOSYS prologue.
class Builder {
public:
  explicit Builder(scmp_filter_ctx ctx) : m_ctx(ctx) {}

  void add(const std::string &name, uint32_t act, uint32_t default_act,
           const std::vector<scmp_arg_cmp> &args) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      log::debug("seccomp: ", printable(name), " is unknown to libseccomp ", SCMP_VER_MAJOR, ".",
                 SCMP_VER_MINOR, ".", SCMP_VER_MICRO, ", skipped");
      return;
    }
    // Every name counts for the prologue, even one whose rule is left out below: the profile
    // knows it, so it is not newer than the profile.
    m_max64 = std::max(m_max64, seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str()));
    m_max32 = std::max(m_max32, seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name.c_str()));
    // libseccomp refuses a rule that does what the default does; it changes nothing anyway.
    if (act == default_act)
      return;
    // libseccomp ANDs the conditions of a rule, and two on one argument cannot both hold
    // in its model: runc then adds one rule per condition, which match as an OR.
    bool repeated = false;
    for (size_t i = 0; i < args.size(); i++)
      for (size_t j = 0; j < i; j++)
        repeated |= args[i].arg == args[j].arg;
    if (repeated) {
      for (const auto &a : args)
        rule(name, nr, act, 1, &a);
    } else {
      rule(name, nr, act, static_cast<unsigned>(args.size()), args.empty() ? nullptr : args.data());
    }
    m_allowed += act == SCMP_ACT_ALLOW;
  }
  int rules() const { return m_rules; }
  int allowed() const { return m_allowed; }
  uint32_t max64() const { return static_cast<uint32_t>(std::max(m_max64, 0)); }
  uint32_t max32() const { return static_cast<uint32_t>(std::max(m_max32, 0)); }

private:
  void rule(const std::string &name, int nr, uint32_t act, unsigned count,
            const scmp_arg_cmp *args) {
    if (int rc = seccomp_rule_add_array(m_ctx, act, nr, count, args); rc < 0)
      lib_fail(rc, cat("add the seccomp rule for ", printable(name)));
    m_rules++;
  }

  scmp_filter_ctx m_ctx;
  int m_rules = 0, m_allowed = 0;
  int m_max64 = 0, m_max32 = 0;
};

// runc's patchbpf stub in front of libseccomp's program: a syscall numbered past the highest one
// the profile names is newer than the profile, so it gets ENOSYS (what a kernel says of
// syscalls it lacks, and what libc falls back on) rather than the default action. For x86_64,
// and x86 and x32 when the filter has them; other arches go straight to libseccomp's program.
std::vector<sock_filter> prologue(uint32_t max64, uint32_t max32, bool x86, bool x32) {
  Asm a;
  a.load(offsetof(seccomp_data, arch));
  a.jump(BPF_JEQ, AUDIT_ARCH_X86_64, Asm::X86_64, Asm::NEXT);
  a.jump(BPF_JEQ, AUDIT_ARCH_I386, x86 && max32 ? Asm::I386 : Asm::BODY, Asm::BODY);
  a.label(Asm::X86_64);
  a.load(offsetof(seccomp_data, nr));
  // Without x32 in the filter, libseccomp's program answers x32 numbers with its bad-arch action.
  a.jump(BPF_JGE, X32_BIT, x32 ? Asm::X32 : Asm::BODY, Asm::NATIVE);
  a.label(Asm::X32);
  if (x32) {
    // 512 and up are x32's own entry points; the common numbers follow x86_64's.
    a.jump(BPF_JGT, X32_BIT | LAST_COMMON_NR, Asm::BODY, Asm::NEXT);
    a.jump(BPF_JGT, X32_BIT | max64, Asm::NOSYS, Asm::BODY);
  }
  a.label(Asm::NATIVE);
  a.jump(BPF_JGT, max64, Asm::NOSYS, Asm::BODY);
  a.label(Asm::I386);
  if (x86 && max32) {
    a.load(offsetof(seccomp_data, nr));
    a.jump(BPF_JGT, max32, Asm::NOSYS, Asm::BODY);
  }
  a.label(Asm::NOSYS);
  a.ret(SECCOMP_RET_ERRNO | ENOSYS);
  a.label(Asm::BODY);
  return a.code();
}

} // namespace

unsigned filter_flags(const Seccomp &profile) {
  unsigned flags = 0;
  for (const auto &f : profile.flags) {
    if (f == "SECCOMP_FILTER_FLAG_TSYNC")
      continue; // one thread: nothing to synchronise
    else if (f == "SECCOMP_FILTER_FLAG_LOG")
      flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
      fail("unable to build the seccomp filter: ", f,
           " needs a seccomp listener, which koker-oci does not support");
    else
      fail("invalid seccomp flag: ", printable(f));
  }
  return flags;
}

seccomp::Filter build_filter(const Seccomp &profile) {
  auto start = std::chrono::steady_clock::now();
  filter_flags(profile); // refuses unknown flags before any work
  uint32_t default_act = action(profile.default_action, profile.default_errno_ret);
  Ctx ctx(seccomp_init(default_act), seccomp_release);
  if (!ctx)
    fail("unable to create a seccomp filter: seccomp_init refused the default action ",
         profile.default_action);
  // The container sets no_new_privs itself when the spec asks; TSYNC is for threads, which its
  // init does not have. CTL_OPTIMIZE 2 sorts the syscalls into a binary tree, as
  // seccomp::build_default does: seccomp(2) runs the filter once per syscall number and arch
  // to cache the verdicts, which a linear list of ~400 rules makes long walks.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    lib_fail(rc, "clear the seccomp attribute CTL_NNP");
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 0); rc < 0)
    lib_fail(rc, "clear the seccomp attribute CTL_TSYNC");
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
    lib_fail(rc, "set the seccomp attribute CTL_OPTIMIZE");

  seccomp::Filter f;
  uint32_t native = seccomp_arch_native();
  bool x86 = false, x32 = false;
  std::vector<std::string> arch_names;
  for (const auto &name : profile.architectures) {
    uint32_t token = arch(name);
    // The native arch is in every filter already (runc's filter is made the same way).
    if (int rc = seccomp_arch_add(ctx.get(), token); rc < 0 && rc != -EEXIST)
      lib_fail(rc, cat("add the architecture ", name, " to the seccomp filter"));
    x86 |= token == SCMP_ARCH_X86;
    x32 |= token == SCMP_ARCH_X32;
    arch_names.push_back(text::lower(name.substr(std::strlen("SCMP_ARCH_"))));
  }
  if (arch_names.empty())
    arch_names.push_back("native");

  Builder b(ctx.get());
  for (const auto &r : profile.syscalls) {
    uint32_t act = action(r.action, r.errno_ret);
    std::vector<scmp_arg_cmp> args;
    for (const auto &a : r.args) {
      if (a.index > 5)
        fail("invalid seccomp argument index for ", printable(r.names.empty() ? "" : r.names[0]),
             ": ", a.index, " (syscalls have 6 arguments)");
      args.push_back({a.index, op(a.op), a.value, a.value_two});
    }
    for (const auto &name : r.names)
      b.add(name, act, default_act, args);
  }
  f.stats.allowed = b.allowed();
  f.stats.rules = b.rules();
  f.stats.max_nr = b.max64();
  for (const auto &n : arch_names)
    f.stats.arches += f.stats.arches.empty() ? n : " " + n;

  // runc's patchbpf leaves out the stub when the default lets everything through, or already
  // says ENOSYS.
  bool permissive = default_act == SCMP_ACT_ALLOW || default_act == SCMP_ACT_LOG ||
                    default_act == SCMP_ACT_ERRNO(ENOSYS);
  if (native == SCMP_ARCH_X86_64 && !permissive && b.max64() > 0) {
    f.prog = prologue(b.max64(), b.max32(), x86, x32);
    f.stats.enosys = static_cast<int>(LAST_COMMON_NR - std::min(b.max64(), LAST_COMMON_NR));
  }
  std::vector<sock_filter> body = export_bpf(ctx.get());
  f.prog.insert(f.prog.end(), body.begin(), body.end());
  if (f.prog.size() > BPF_MAXINSNS)
    fail("unable to build the seccomp filter: ", f.prog.size(), " instructions, the kernel takes ",
         BPF_MAXINSNS);
  f.stats.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return f;
}

} // namespace koker::oci
