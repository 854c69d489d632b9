// SPDX-License-Identifier: MIT
#include "cgroup/cgroup.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include <stdexcept>

using namespace koker;
namespace cg = koker::cgroup;

// The message of the Error fn throws, or "" when it throws none.
template <class F> static std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

static bool size_fails(std::string_view text) {
  return !error_of([&] { cg::parse_size(text); }).empty();
}

TEST("cgroup: sizes parse as docker's RAMInBytes (powers of 1024)") {
  CHECK(cg::parse_size("512m") == 512ULL << 20);
  CHECK(cg::parse_size("512M") == 512ULL << 20);
  CHECK(cg::parse_size("1g") == 1ULL << 30);
  CHECK(cg::parse_size("1.5g") == 1610612736ULL);
  CHECK(cg::parse_size("0.5k") == 512);
  CHECK(cg::parse_size("64k") == 65536);
  CHECK(cg::parse_size("1048576") == 1048576);
  CHECK(cg::parse_size("100b") == 100);
  CHECK(cg::parse_size("2MiB") == 2ULL << 20);
  CHECK(cg::parse_size("2mb") == 2ULL << 20);
  CHECK(cg::parse_size("16 m") == 16ULL << 20);
  CHECK(cg::parse_size("1t") == 1ULL << 40);
  CHECK(cg::parse_size("1p") == 1ULL << 50);
}

TEST("cgroup: bad sizes are refused: negative, zero, malformed, too large") {
  CHECK(size_fails(""));
  CHECK(size_fails("-1"));
  CHECK(size_fails("-1m"));
  CHECK(size_fails("0"));
  CHECK(size_fails("0m"));
  CHECK(size_fails("0.1b"));
  CHECK(size_fails("12q"));
  CHECK(size_fails("m"));
  CHECK(size_fails("1.m"));
  CHECK(size_fails(".5m"));
  CHECK(size_fails("1mm"));
  CHECK(size_fails("1  m"));
  CHECK(size_fails("0x10"));
  CHECK(size_fails("1e3"));
  CHECK(size_fails("8192p"));
  CHECK(size_fails("99999999999999999999"));
  CHECK(error_of([] { cg::parse_size("-1"); }).find("negative") != std::string::npos);
}

TEST("cgroup: MiB values are whole, positive numbers (zero only for --swap)") {
  CHECK(cg::parse_mib("512") == 512ULL << 20);
  CHECK(cg::parse_mib("0", true) == 0);
  CHECK(!error_of([] { cg::parse_mib("0"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("-3"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("1.5"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("512m"); }).empty());
  CHECK(!error_of([] { cg::parse_mib("9000000000000"); }).empty());
}

TEST("cgroup: CPUs are fractional, from 0.01 to the host's count") {
  CHECK(cg::parse_cpus("0.5", 2) == 500000000ULL);
  CHECK(cg::parse_cpus("2", 2) == 2000000000ULL);
  CHECK(cg::parse_cpus("2.0", 2) == 2000000000ULL);
  CHECK(cg::parse_cpus("0.01", 2) == 10000000ULL);
  CHECK(cg::parse_cpus("1.333333333", 2) == 1333333333ULL);
  std::string range = error_of([] { cg::parse_cpus("1000", 2); });
  CHECK(range.find("range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available") !=
        std::string::npos);
  for (const char *bad : {"0", "0.0", "0.009", "2.5", "-1", "", "abc", "1.", ".5", "1e0", "1/2",
                          "0.5 ", "1.0000000001", "nan", "inf"})
    CHECK(!error_of([&] { cg::parse_cpus(bad, 2); }).empty());
}

TEST("cgroup: pids limits are 1 to PID_MAX_LIMIT") {
  CHECK(cg::parse_pids("20") == 20);
  CHECK(cg::parse_pids("4194304") == 4194304);
  for (const char *bad : {"0", "-3", "abc", "", "4194305", "1.5", "20 "})
    CHECK(!error_of([&] { cg::parse_pids(bad); }).empty());
}

TEST("cgroup: parse_limit_option names the option in its message") {
  cg::Limits l;
  cg::parse_limit_option(l, "--mem", "64");
  CHECK(l.memory == 64ULL << 20);
  cg::parse_limit_option(l, "-m", "32m");
  CHECK(l.memory == 32ULL << 20);
  cg::parse_limit_option(l, "--swap", "0");
  CHECK(l.swap == 0ULL);
  cg::parse_limit_option(l, "--cpus", "0.01");
  CHECK(l.nano_cpus == 10000000ULL);
  cg::parse_limit_option(l, "--pids-limit", "7");
  CHECK(l.pids == 7ULL);
  CHECK(!l.empty());
  CHECK(cg::Limits{}.empty());
  std::string e = error_of([&] { cg::parse_limit_option(l, "--memory", "12q"); });
  CHECK(e.rfind("invalid --memory value '12q': ", 0) == 0);
  e = error_of([&] { cg::parse_limit_option(l, "--pids", "-3"); });
  CHECK(e.rfind("invalid --pids value '-3': ", 0) == 0);
  bool threw = false;
  try {
    cg::parse_limit_option(l, "--bogus", "1");
  } catch (const std::invalid_argument &) {
    threw = true;
  }
  CHECK(threw);
}

TEST("cgroup: limits are checked together") {
  cg::Limits l;
  l.swap = 100ULL << 20;
  CHECK(error_of([&] { cg::check_limits(l); }).find("--swap needs a memory limit") !=
        std::string::npos);
  l.memory = 1ULL << 20;
  CHECK(error_of([&] { cg::check_limits(l); }).find("the minimum is 6MiB") != std::string::npos);
  l.memory = cg::MIN_MEMORY;
  CHECK(error_of([&] { cg::check_limits(l); }).empty());
  l.memory = 1ULL << 62;
  l.swap = 1ULL << 62;
  CHECK(!error_of([&] { cg::check_limits(l); }).empty());
  CHECK(error_of([] { cg::check_limits({}); }).empty());
}

TEST("cgroup: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128, never a path") {
  CHECK(cg::valid_name("kt-1"));
  CHECK(cg::valid_name("a"));
  CHECK(cg::valid_name("A.b_c-9"));
  CHECK(cg::valid_name(std::string(128, 'x')));
  CHECK(!cg::valid_name(std::string(129, 'x')));
  for (const char *bad : {"", ".", "..", "a/b", "/a", "a..b", "-a", ".a", "_a", "a b", "a\n",
                          "koker/x", "a/../b", "é"})
    CHECK(!cg::valid_name(bad));
  CHECK(error_of([] { cg::check_name("a/b"); }).rfind("invalid cgroup name 'a/b'", 0) == 0);
}

TEST("cgroup: mode names") {
  CHECK(cg::mode_name(cg::Mode::v1) == "v1");
  CHECK(cg::mode_name(cg::Mode::hybrid) == "hybrid");
  CHECK(cg::mode_name(cg::Mode::v2) == "v2");
}
