// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "runtime/user.hpp"

using namespace koker;

static const char *PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
                            "# comment\n"
                            "koker:x:1000:1000::/home/koker:/bin/sh\n"
                            "broken:line\n";
static const char *GROUP = "root:x:0:\nkoker:x:1000:\nextra:x:2000:koker,other\nwheel:x:10:other\n";

TEST("user: names and numbers resolve in the image's passwd and group") {
  auto root = user::resolve("", PASSWD, GROUP);
  CHECK(root.uid == 0 && root.gid == 0 && root.home == "/root");
  auto k = user::resolve("koker", PASSWD, GROUP);
  CHECK(k.uid == 1000 && k.gid == 1000 && k.home == "/home/koker");
  CHECK(k.groups.size() == 2 && k.groups[0] == 1000 && k.groups[1] == 2000);
  auto n = user::resolve("1000", PASSWD, GROUP);
  CHECK(n.uid == 1000 && n.gid == 1000);
  auto g = user::resolve("koker:wheel", PASSWD, GROUP);
  CHECK(g.gid == 10 && g.groups[0] == 10);
  auto raw = user::resolve("4242:4343", PASSWD, GROUP);
  CHECK(raw.uid == 4242 && raw.gid == 4343 && raw.home == "/");
  auto unknown_uid = user::resolve("31337", "", "");
  CHECK(unknown_uid.uid == 31337 && unknown_uid.gid == 0);
}

TEST("user: unknown names are errors, as in docker") {
  bool threw = false;
  try {
    user::resolve("nobody-here", PASSWD, GROUP);
  } catch (const Error &) {
    threw = true;
  }
  CHECK(threw);
  threw = false;
  try {
    user::resolve("koker:nogroup", PASSWD, GROUP);
  } catch (const Error &) {
    threw = true;
  }
  CHECK(threw);
}
