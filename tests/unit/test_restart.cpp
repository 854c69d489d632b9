// SPDX-License-Identifier: MIT
#include "runtime/restart.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include <string>

using namespace koker;
using namespace std::chrono;

static std::string parse_error(const char *text) {
  try {
    restart::parse(text);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST("restart: docker's policies parse; a count only with on-failure") {
  CHECK(restart::parse("no").name == "no");
  CHECK(restart::parse("always").name == "always");
  CHECK(restart::parse("unless-stopped").name == "unless-stopped");
  CHECK(restart::parse("on-failure").max == 0);
  CHECK(restart::parse("on-failure:3").name == "on-failure");
  CHECK(restart::parse("on-failure:3").max == 3);
  CHECK(parse_error("sometimes").find("invalid restart policy") != std::string::npos);
  CHECK(parse_error("always:3").find("only on-failure") != std::string::npos);
  CHECK(parse_error("on-failure:x").find("number") != std::string::npos);
  CHECK(parse_error("on-failure:-1").find("number") != std::string::npos);
  CHECK(!parse_error("").empty());
}

TEST("restart: back-off 100 ms doubling, at most a minute, reset after 10 s up") {
  restart::Backoff b;
  CHECK(b.next(milliseconds(5)) == milliseconds(100));
  CHECK(b.next(milliseconds(5)) == milliseconds(200));
  CHECK(b.next(seconds(9)) == milliseconds(400));
  CHECK(b.next(seconds(10)) == milliseconds(100));
  for (int i = 0; i < 20; ++i)
    b.next(milliseconds(1));
  CHECK(b.next(milliseconds(1)) == milliseconds(60000));
}

TEST("restart: decide follows the policy, counts, and never after a stop by the user") {
  container::Record r;
  r.id = std::string(64, 'a');
  r.restart_policy = "on-failure";
  r.restart_max = 2;
  CHECK(!restart::decide(r, 0)); // success: no restart
  CHECK(restart::decide(r, 1) && r.restart_count == 1 && r.status == "restarting");
  CHECK(restart::decide(r, 1) && r.restart_count == 2);
  CHECK(!restart::decide(r, 1)); // N restarts, N+1 runs
  r.restart_policy = "always";
  CHECK(restart::decide(r, 0));
  r.manually_stopped = true;
  CHECK(!restart::decide(r, 1));
  r.manually_stopped = false;
  r.restart_policy = "no";
  CHECK(!restart::decide(r, 1));
}
