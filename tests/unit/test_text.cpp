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


TEST("text: fnv1a_hex is FNV-1a 64, offset basis xor seed, as 16 hex digits") {
  CHECK(text::fnv1a_hex("") == "cbf29ce484222325");
  CHECK(text::fnv1a_hex("a") == "af63dc4c8601ec8c");
  CHECK(text::fnv1a_hex("a", 1) != text::fnv1a_hex("a"));
  CHECK(text::fnv1a_hex(std::string_view("a\0b", 3)) != text::fnv1a_hex("a"));
}
