// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include <cstdlib>
#include "runtime/image_user.hpp"
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

TEST("image_user: the cache's text gives back what was written, and refuses what it did not") {
  user::Identity id;
  id.uid = 1000;
  id.gid = 2000;
  id.groups = {2000, 10, 4294967294u};
  id.home = "/home/a user";
  auto back = image_user::decode(image_user::encode(id));
  CHECK(back && back->uid == 1000 && back->gid == 2000 && back->groups == id.groups &&
        back->home == "/home/a user");
  user::Identity root;
  auto r = image_user::decode(image_user::encode(root));
  CHECK(r && r->uid == 0 && r->groups.empty() && r->home == "/");
  for (const char *bad : {"", "0 0 -\n", "0 0 -\n/\nextra\n", "0 0\n/\n", "x 0 -\n/\n",
                          "0 0 1,,2\n/\n", "0 4294967295 -\n/\n", "0 0 -\n\n", "0 0 - 1\n/\n",
                          "0 0 -\n/"})
    CHECK(!image_user::decode(bad));
}

TEST("image_user: each spec and group list has its own entry, under the image's prefix") {
  char tmpl[] = "/tmp/koker-unit-user.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  const std::string img = "sha256:" + std::string(64, 'a');
  user::Identity a;
  a.uid = 1;
  image_user::remember(dir, img, "a", {}, a);
  user::Identity b;
  b.uid = 2;
  image_user::remember(dir, img, "a", {"wheel"}, b);
  CHECK(image_user::cached(dir, img, "a", {})->uid == 1);
  CHECK(image_user::cached(dir, img, "a", {"wheel"})->uid == 2);
  CHECK(!image_user::cached(dir, img, "b", {}));
  CHECK(!image_user::cached(dir, "sha256:" + std::string(64, 'b'), "a", {}));
  for (const auto &name : sys::list_dir(dir))
    CHECK(name.rfind(image_user::entry_prefix(std::string(64, 'a')), 0) == 0);
  sys::rm_rf(dir);
}
