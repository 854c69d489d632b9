// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "runtime/create.hpp"

using namespace koker;

TEST("text: character classes, hex and names") {
  CHECK(text::all_lower_hex("0123456789abcdef"));
  CHECK(!text::all_lower_hex("ABC"));
  CHECK(!text::all_lower_hex(""));
  CHECK(text::is_hex('F') && !text::is_lower_hex('F'));
  CHECK(text::hex(std::string("\x00\x7f\xff", 3)) == "007fff");
  CHECK(text::is_name("web-1.a_b") && !text::is_name("-web") && !text::is_name("a/b"));
  CHECK(text::is_hostname("web") && text::is_hostname(std::string(64, 'h')));
  CHECK(!text::is_hostname("") && !text::is_hostname(std::string(65, 'h')));
  CHECK(!text::is_hostname("web\n6.6.6.6 evil") && !text::is_hostname("a b") &&
        !text::is_hostname("a/b"));
}

// The message of the Error parse_volume throws for spec, or "" when it is accepted.
static std::string volume_error(const std::string &spec) {
  try {
    create::parse_volume(spec);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST("create: -v HOST:PATH[:ro] is checked before anything is mounted") {
  rootfs::Volume v = create::parse_volume("/srv/data:/data:ro");
  CHECK(v.source == "/srv/data" && v.target == "/data" && v.read_only);
  CHECK(volume_error("/srv:/srv/..hidden").empty()); // a name, not a parent
  CHECK(volume_error("/tmp:/").find("the destination can't be '/'") != std::string::npos);
  CHECK(volume_error("/tmp://.").find("the destination can't be '/'") != std::string::npos);
  CHECK(volume_error("/tmp:/a/../b").find("may not hold ..") != std::string::npos);
  CHECK(volume_error("tmp:/a").find("must be absolute") != std::string::npos);
  CHECK(volume_error("/tmp:/a:rx").find("want HOSTPATH:PATH[:ro]") != std::string::npos);
}
