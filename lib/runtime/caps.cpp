// SPDX-License-Identifier: MIT
#include "base/text.hpp"
#include "runtime/caps.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::caps {

namespace {

// capability.h's order; the index is the capability's number.
// clang-format off
constexpr const char *NAMES[] = {
    /*  0 */ "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID",
    /*  5 */ "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
    /* 10 */ "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK",
    /* 15 */ "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    /* 20 */ "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE",
    /* 25 */ "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
    /* 30 */ "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    /* 35 */ "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    /* 40 */ "CHECKPOINT_RESTORE",
};
// clang-format on
constexpr int KNOWN = static_cast<int>(sizeof NAMES / sizeof NAMES[0]);

bool equal_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); i++) {
    char c = a[i];
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i])
      return false;
  }
  return true;
}

constexpr Set bit(int cap) { return Set{1} << cap; }

// A name from --cap-add/--cap-drop as a set: every capability for "ALL", else one. Names the
// kernel does not know count as unknown, as in moby (they could never be granted).
Set parse(const std::string &text, bool &is_all) {
  is_all = equal_nocase(text, "ALL");
  if (is_all)
    return all();
  auto cap = from_name(text);
  if (!cap || *cap > last_cap())
    fail("unknown capability: ", printable(text));
  return bit(*cap);
}

} // namespace

std::optional<int> from_name(std::string_view text) {
  if (text.size() > 4 && equal_nocase(text.substr(0, 4), "CAP_"))
    text.remove_prefix(4);
  for (int i = 0; i < KNOWN; i++)
    if (equal_nocase(text, NAMES[i]))
      return i;
  return std::nullopt;
}

std::string name(int cap) {
  if (cap >= 0 && cap < KNOWN)
    return cat("CAP_", NAMES[cap]);
  return cat("CAP_", cap);
}

int last_cap() {
  // Read once: it cannot change while we run, and /proc may be the container's later on.
  static const int last = [] {
    int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return 40;
    char buf[16];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    int v = 0;
    bool any = false;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++, any = true)
      v = v * 10 + (buf[i] - '0');
    return any && v < 64 ? v : 40;
  }();
  return last;
}

Set all() { return last_cap() >= 63 ? ~Set{0} : bit(last_cap() + 1) - 1; }

Set held_bounding() {
  Set held = 0;
  for (int c = 0; c <= last_cap(); ++c)
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
      held |= bit(c);
  return held;
}

Set default_set() {
  return bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FOWNER) | bit(CAP_FSETID) |
         bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_SETFCAP) | bit(CAP_SETGID) |
         bit(CAP_SETPCAP) | bit(CAP_SETUID) | bit(CAP_SYS_CHROOT);
}

Set adjust(Set base, const std::vector<std::string> &add, const std::vector<std::string> &drop) {
  // Validate drops, then adds, as moby does, so the first bad name is the one it reports.
  Set dropped = 0, added = 0;
  bool drop_all = false, add_all = false, is_all = false;
  for (const auto &c : drop) {
    Set s = parse(c, is_all);
    drop_all |= is_all;
    if (!is_all)
      dropped |= s;
  }
  for (const auto &c : add) {
    Set s = parse(c, is_all);
    add_all |= is_all;
    added |= s;
  }
  if (add_all)
    return all() & ~dropped;
  if (drop_all)
    return added;
  return (base & ~dropped) | added;
}

void limit_bounding(Set keep) {
  int last = last_cap();
  int n = 0;
  for (int c = 0; c <= last; c++)
    n += !(keep & bit(c));
  log::debug("prctl(PR_CAPBSET_DROP) ", n, " capabilities, keeping ", names(keep & all()));
  for (int c = 0; c <= last; c++)
    if (!(keep & bit(c)) && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      sys_fail("unable to drop ", name(c), " from the bounding set");
  log::debug("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    sys_fail("unable to clear the ambient capabilities");
}

void set_process_caps(Set set) { set_sets(set, set, 0); }

void set_sets(Set effective, Set permitted, Set inheritable) {
  Set set = permitted;
  log::debug("capset(effective=0x", hex(effective), ", permitted=0x", hex(permitted),
             ", inheritable=0x", hex(inheritable), ")");
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  // Version 3 takes two 32-bit halves; inheritable stays 0 so nothing leaks into exec'd
  // programs through file capabilities (CVE-2022-24769, CVE-2022-29162).
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) >= 0)
    return;
  int e = errno;
  // The usual cause: koker itself runs without some of them (a restricted parent, --cap-add ALL
  // in a container); name them.
  std::string why = std::strerror(e);
  if (::syscall(SYS_capget, &header, data) == 0) {
    Set held = data[0].permitted | Set{data[1].permitted} << 32;
    if (set & ~held)
      why += cat(" (koker itself lacks ", names(set & ~held), ")");
  }
  throw Error(cat("unable to set capabilities to 0x", hex(set), ": ", why), 125, e);
}

void raise_ambient(Set set) {
  for (int c = 0; c <= last_cap(); c++)
    if ((set & bit(c)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      sys_fail("unable to raise ", name(c), " in the ambient set");
}

std::string hex(Set set) {
  std::string bytes; // big-endian, so the hex reads as the number
  for (int shift = 56; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<char>(set >> shift));
  return text::hex(bytes);
}

std::string names(Set set) {
  std::string s;
  for (int c = 0; c < 64; c++)
    if (set & bit(c)) {
      if (!s.empty())
        s += ' ';
      s += name(c).substr(4);
    }
  return s.empty() ? "none" : s;
}

} // namespace koker::caps
