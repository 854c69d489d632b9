// SPDX-License-Identifier: MIT
#include "runtime/caps.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include <string>

using namespace koker;

static caps::Set bit(int cap) { return caps::Set{1} << cap; }

static std::string adjust_error(const std::vector<std::string> &add,
                                const std::vector<std::string> &drop) {
  try {
    caps::adjust(caps::default_set(), add, drop);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST("caps: names map to numbers in any case, with or without CAP_") {
  CHECK(caps::from_name("CAP_CHOWN") == 0);
  CHECK(caps::from_name("chown") == 0);
  CHECK(caps::from_name("Chown") == 0);
  CHECK(caps::from_name("cap_net_bind_service") == 10);
  CHECK(caps::from_name("SYS_ADMIN") == 21);
  CHECK(caps::from_name("mknod") == 27);
  CHECK(caps::from_name("CAP_SETFCAP") == 31);
  CHECK(caps::from_name("perfmon") == 38);
  CHECK(caps::from_name("bpf") == 39);
  CHECK(caps::from_name("CHECKPOINT_RESTORE") == 40);
  CHECK(!caps::from_name("CAP_FOO"));
  CHECK(!caps::from_name(""));
  CHECK(!caps::from_name("CAP_"));
  CHECK(!caps::from_name("ALL"));
  CHECK(!caps::from_name("CAP_CAP_CHOWN"));
  CHECK(!caps::from_name("chown "));
}

TEST("caps: numbers map back to names") {
  CHECK(caps::name(0) == "CAP_CHOWN");
  CHECK(caps::name(21) == "CAP_SYS_ADMIN");
  CHECK(caps::name(40) == "CAP_CHECKPOINT_RESTORE");
  CHECK(caps::name(41) == "CAP_41");
  for (int c = 0; c <= 40; c++)
    CHECK(caps::from_name(caps::name(c)) == c);
}

TEST("caps: the default set is podman's eleven") {
  CHECK(caps::default_set() == 0x800405fb);
  CHECK(caps::names(caps::default_set()) == "CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID "
                                            "SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP");
  CHECK(!(caps::default_set() & bit(27))); // MKNOD
  CHECK(!(caps::default_set() & bit(13))); // NET_RAW
  CHECK(!(caps::default_set() & bit(29))); // AUDIT_WRITE
  CHECK(caps::names(0) == "none");
}

TEST("caps: every capability the kernel knows") {
  CHECK(caps::last_cap() >= 36 && caps::last_cap() < 64);
  CHECK(caps::all() == (caps::Set{1} << (caps::last_cap() + 1)) - 1);
}

TEST("caps: adjust adds and drops like docker") {
  caps::Set d = caps::default_set();
  CHECK(caps::adjust(d, {}, {}) == d);
  CHECK(caps::adjust(d, {"SYS_ADMIN"}, {}) == (d | bit(21)));
  CHECK(caps::adjust(d, {"cap_net_raw", "Mknod"}, {}) == (d | bit(13) | bit(27)));
  CHECK(caps::adjust(d, {}, {"CHOWN", "cap_kill"}) == (d & ~bit(0) & ~bit(5)));
  // A capability both added and dropped stays: moby drops first, then adds.
  CHECK(caps::adjust(d, {"CHOWN"}, {"CHOWN"}) == d);
  CHECK(caps::adjust(d, {"SYS_TIME"}, {"SYS_TIME"}) == (d | bit(25)));
  // Dropping what is not there changes nothing.
  CHECK(caps::adjust(d, {}, {"SYS_ADMIN"}) == d);
}

TEST("caps: adjust understands ALL") {
  caps::Set d = caps::default_set();
  CHECK(caps::adjust(d, {"ALL"}, {}) == caps::all());
  CHECK(caps::adjust(d, {"all"}, {"MKNOD", "SYS_ADMIN"}) == (caps::all() & ~bit(27) & ~bit(21)));
  CHECK(caps::adjust(d, {}, {"ALL"}) == 0);
  CHECK(caps::adjust(d, {"CHOWN", "KILL"}, {"ALL"}) == (bit(0) | bit(5)));
  // ALL in both: add wins, as in moby.
  CHECK(caps::adjust(d, {"ALL"}, {"ALL"}) == caps::all());
  CHECK(caps::adjust(0, {"NET_BIND_SERVICE"}, {}) == bit(10));
}

TEST("caps: adjust refuses unknown names") {
  CHECK(adjust_error({"CAP_FOO"}, {}) == "unknown capability: CAP_FOO");
  CHECK(adjust_error({}, {"bar"}) == "unknown capability: bar");
  CHECK(adjust_error({"CHOWN"}, {"CAP_CHOWN", "nope"}) == "unknown capability: nope");
  CHECK(adjust_error({""}, {}) == "unknown capability: ");
  CHECK(adjust_error({"SYS_ADMIN\n"}, {}) == "unknown capability: SYS_ADMIN?");
  CHECK(adjust_error({"ALL"}, {"CHOWN"}).empty());
}

TEST("caps: hex is /proc/self/status style") {
  CHECK(caps::hex(0x800405fb) == "00000000800405fb");
  CHECK(caps::hex(0) == "0000000000000000");
  CHECK(caps::hex(~caps::Set{0}) == "ffffffffffffffff");
  CHECK(caps::hex(0x000001ffffffffff) == "000001ffffffffff");
}
