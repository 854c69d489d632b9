// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/rootless.hpp"
#include "base/sys.hpp"
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>
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

TEST("rootless: read_id_map takes the kernel's columns, skips what is not three numbers") {
  char path[] = "/tmp/koker-unit-idmap.XXXXXX";
  int fd = ::mkstemp(path);
  CHECK(fd >= 0);
  std::string text = "         0       1000          1\n         1     100000      65536\n"
                     "bad line\n1 2\n\n4294967295 0 1\n";
  CHECK(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto map = rootless::read_id_map(path);
  CHECK(map.size() == 3);
  CHECK(map[0].inside == 0 && map[0].outside == 1000 && map[0].count == 1);
  CHECK(map[1].inside == 1 && map[1].outside == 100000 && map[1].count == 65536);
  CHECK(map[2].inside == 4294967295ULL && map[2].count == 1);
  ::unlink(path);
  CHECK(rootless::read_id_map(path).empty()); // missing: a kernel without user namespaces
  auto self = rootless::read_id_map("/proc/self/uid_map");
  CHECK(!self.empty());
}

TEST("sys: overwrite_file writes over a file in place, shorter or longer, and makes a missing one") {
  char dir[] = "/tmp/koker-unit-overwrite.XXXXXX";
  CHECK(::mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/last_reserved_ip";
  sys::overwrite_file(path, "10.69.0.100\n", 0600);
  CHECK(sys::read_file(path) == "10.69.0.100\n");
  struct stat before {};
  CHECK(::stat(path.c_str(), &before) == 0);
  sys::overwrite_file(path, "10.69.0.2\n", 0600);
  CHECK(sys::read_file(path) == "10.69.0.2\n");
  sys::overwrite_file(path, "10.69.255.254\n", 0600);
  CHECK(sys::read_file(path) == "10.69.255.254\n");
  struct stat after {};
  CHECK(::stat(path.c_str(), &after) == 0);
  CHECK(before.st_ino == after.st_ino); // in place: no new inode, nothing evicted
  CHECK((after.st_mode & 0777) == 0600);
  sys::rm_rf(dir);
}
