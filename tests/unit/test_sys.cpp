// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/sys.hpp"
#include <cstdio>
#include <ctime>

using namespace koker;

TEST("sys: rfc3339 writes the same UTC date as gmtime_r, leap days and centuries included") {
  // Every 9 days and 7 hours from 1970 to 2110, plus the edges of 29 February 2000 and 2100.
  for (long long t = 0; t < 4420000000LL; t += 9 * 86400 + 7 * 3600 + 13) {
    struct timespec ts = {static_cast<time_t>(t), 42};
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000000042Z", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (sys::rfc3339(ts) != want) {
      CHECK(sys::rfc3339(ts) == want);
      return;
    }
  }
  CHECK(sys::rfc3339({951782400, 0}) == "2000-02-29T00:00:00.000000000Z");
  CHECK(sys::rfc3339({951868799, 999999999}) == "2000-02-29T23:59:59.999999999Z");
  CHECK(sys::rfc3339({4107542400, 0}) == "2100-03-01T00:00:00.000000000Z");
  CHECK(sys::now_rfc3339().size() == 30 && sys::now_rfc3339().back() == 'Z');
}
