// SPDX-License-Identifier: MIT
// The unit-test runner: every TEST registered by the other files in this directory.
#include "check.hpp"
#include <exception>

int main() {
  int passed = 0, failed = 0;
  for (const auto &c : unit::cases()) {
    int before = unit::failures;
    bool threw = false;
    try {
      c.fn();
    } catch (const std::exception &e) {
      std::fprintf(stderr, "%s: threw: %s\n", c.name, e.what());
      threw = true;
    }
    bool ok = !threw && unit::failures == before;
    std::printf("%s - %s\n", ok ? "ok" : "not ok", c.name);
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
