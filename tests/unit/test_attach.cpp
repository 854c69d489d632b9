// SPDX-License-Identifier: MIT
#include "runtime/attach_client.hpp"
#include "runtime/attach_socket.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include <string>

using namespace koker;

static std::string keys_error(const char *spec) {
  try {
    attach::parse_detach_keys(spec);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST("attach: docker's detach keys parse to their bytes") {
  CHECK(attach::parse_detach_keys("ctrl-p,ctrl-q") == "\x10\x11");
  CHECK(attach::parse_detach_keys("ctrl-x,x") == "\x18x");
  CHECK(attach::parse_detach_keys("ctrl-@,ctrl-[,ctrl-_") == std::string("\0\x1b\x1f", 3));
  CHECK(attach::parse_detach_keys("") == "");
  CHECK(keys_error("ctrl-1").find("invalid detach key ctrl-1") == 0);
  CHECK(keys_error("ctrl-P").find("invalid detach key") == 0);
  CHECK(keys_error("ab").find("a single character or ctrl-X") != std::string::npos);
}

TEST("attach: frames come out whole, however the stream is cut") {
  std::string stream = attach::frame(attach::OUTPUT, "hello") + attach::frame(attach::CLOSE_STDIN) +
                       attach::frame_u32(attach::EXIT, 137);
  attach::FrameReader r;
  char type = 0;
  std::string p;
  for (char c : stream.substr(0, 7))
    r.feed(std::string_view(&c, 1));
  CHECK(!r.next(type, p));
  r.feed(stream.substr(7));
  CHECK(r.next(type, p) && type == attach::OUTPUT && p == "hello");
  CHECK(r.next(type, p) && type == attach::CLOSE_STDIN && p.empty());
  CHECK(r.next(type, p) && type == attach::EXIT && attach::u32_of(p) == 137);
  CHECK(!r.next(type, p));
}
