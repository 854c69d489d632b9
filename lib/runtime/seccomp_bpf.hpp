// SPDX-License-Identifier: MIT
#pragma once
// The pieces of a seccomp filter that koker's own profile (runtime/seccomp.cpp) and an OCI
// config's (runtime/oci_seccomp.cpp) share: libseccomp's errors, its BPF export, and a small
// assembler for the ENOSYS prologue each puts in front of libseccomp's program.
#include <cstddef>
#include <cstdint>
#include <linux/filter.h>
#include <seccomp.h>
#include <string_view>
#include <vector>

namespace koker::seccomp_bpf {

// x32 syscalls are x86_64 numbers with this bit set; 512 and up are x32's own compat calls.
constexpr uint32_t X32_BIT = 0x40000000;
constexpr uint32_t LAST_COMMON_NR = 511;

// Throws Error("unable to WHAT: strerror") for a libseccomp return code rc < 0.
[[noreturn]] void lib_fail(int rc, std::string_view what);
// The program libseccomp built for ctx (libseccomp 2.5 exports only to a descriptor).
std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx);

// Classic BPF with forward jumps to labels, resolved by code().
class Asm {
public:
  enum Label { NEXT, X86_64, X32, NATIVE, I386, NOSYS, BODY, LABELS };
  void load(uint32_t offset) { m_code.push_back({BPF_LD | BPF_W | BPF_ABS, 0, 0, offset}); }
  void jump(uint16_t op, uint32_t k, Label t, Label f) {
    m_jumps.push_back({m_code.size(), t, f});
    m_code.push_back({static_cast<uint16_t>(BPF_JMP | op | BPF_K), 0, 0, k});
  }
  void ret(uint32_t k) { m_code.push_back({BPF_RET | BPF_K, 0, 0, k}); }
  void label(Label l) { m_at[l] = m_code.size(); }
  std::vector<sock_filter> code() {
    for (const auto &j : m_jumps) {
      m_code[j.pc].jt = offset(j.pc, j.t);
      m_code[j.pc].jf = offset(j.pc, j.f);
    }
    return std::move(m_code);
  }

private:
  struct Jump {
    size_t pc;
    Label t, f;
  };
  uint8_t offset(size_t pc, Label l) const { return l == NEXT ? 0 : uint8_t(m_at[l] - pc - 1); }
  std::vector<sock_filter> m_code;
  std::vector<Jump> m_jumps;
  size_t m_at[LABELS] = {};
};

} // namespace koker::seccomp_bpf
