// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <ctime>

namespace koker::clock {

// The monotonic clock in ns: a vDSO call, no syscall, cheap enough around every block of a
// stream (the pull's split of a layer's time into download, decompress and write).
inline uint64_t monotonic_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

} // namespace koker::clock
