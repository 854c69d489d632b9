// SPDX-License-Identifier: MIT
// Resource limits from command-line values, checked before any cgroup is touched: docker's
// size, CPU and pids syntax and ranges.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/detail.hpp"
#include <algorithm>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

namespace koker::cgroup {

namespace {

[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why) {
  fail("invalid ", option, " value '", printable(value, 40), "': ", why);
}

} // namespace

uint64_t parse_size(std::string_view text) {
  const std::string_view opt = "size";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "a size cannot be negative");
  size_t i = 0;
  uint64_t whole = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > (UINT64_MAX - 9) / 10)
      bad_value(opt, text, "too large");
    whole = whole * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0)
    bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  std::string frac;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      frac.push_back(text[i]);
    if (frac.empty())
      bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  }
  if (i < text.size() && text[i] == ' ')
    ++i;
  // go-units' RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, powers of 1024.
  uint64_t mult = 1;
  static const std::string_view units = "kmgtp";
  if (i < text.size()) {
    auto u = units.find(static_cast<char>(text[i] | 0x20));
    if (u != std::string_view::npos) {
      mult = uint64_t(1) << (10 * (u + 1));
      ++i;
    }
  }
  if (mult > 1 && i < text.size() && (text[i] | 0x20) == 'i')
    ++i;
  if (i < text.size() && (text[i] | 0x20) == 'b')
    ++i;
  if (i != text.size())
    bad_value(opt, text, "not a size (a number with an optional b, k, m or g suffix)");
  const uint64_t max = (uint64_t(1) << 63) - 1;
  if (whole > max / mult)
    bad_value(opt, text, "too large (at most 8 EiB)");
  uint64_t bytes = whole * mult;
  // The fraction, truncated to whole bytes. long double holds 64 bits of mantissa: exact for
  // the fractions people write ("1.5g"), as docker's float64 arithmetic is.
  if (!frac.empty()) {
    frac.resize(std::min<size_t>(frac.size(), 18));
    long double f = static_cast<long double>(*sys::parse_uint(frac));
    for (size_t k = 0; k < frac.size(); ++k)
      f /= 10;
    bytes += static_cast<uint64_t>(f * static_cast<long double>(mult));
  }
  if (bytes > max)
    bad_value(opt, text, "too large (at most 8 EiB)");
  if (bytes == 0)
    bad_value(opt, text, "must be greater than 0");
  return bytes;
}

uint64_t parse_mib(std::string_view text, bool allow_zero) {
  const std::string_view opt = "MiB";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "cannot be negative");
  auto n = sys::parse_uint(text);
  if (!n)
    bad_value(opt, text, "not a whole number of MiB");
  if (*n == 0 && !allow_zero)
    bad_value(opt, text, "must be greater than 0");
  if (*n > ((uint64_t(1) << 63) - 1) >> 20)
    bad_value(opt, text, "too large (at most 8 EiB)");
  return *n << 20;
}

uint64_t parse_cpus(std::string_view text, unsigned cpus) {
  const std::string_view opt = "CPUs";
  std::string range = cat("range of CPUs is from 0.01 to ", cpus, ".00, as there are only ", cpus,
                          " CPUs available");
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, range);
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto w = sys::parse_uint(whole);
  bool digits = frac.empty() || text::all(frac, text::is_digit);
  if (!w || !digits || (dot != std::string_view::npos && frac.empty()))
    bad_value(opt, text, "not a number of CPUs (such as 0.5 or 2)");
  if (frac.size() > 9)
    bad_value(opt, text, "too precise (at most 9 decimals)");
  if (*w > cpus)
    bad_value(opt, text, range);
  uint64_t nano = *w * 1000000000ULL;
  uint64_t scale = 100000000ULL;
  for (char c : frac) {
    nano += static_cast<uint64_t>(c - '0') * scale;
    scale /= 10;
  }
  if (nano < 10000000ULL || nano > uint64_t(cpus) * 1000000000ULL)
    bad_value(opt, text, range);
  return nano;
}

uint64_t parse_pids(std::string_view text) {
  const std::string_view opt = "pids";
  if (!text.empty() && text[0] == '-')
    bad_value(opt, text, "cannot be negative");
  auto n = sys::parse_uint(text);
  if (!n)
    bad_value(opt, text, "not a whole number");
  if (*n == 0)
    bad_value(opt, text, "must be at least 1");
  if (*n > MAX_PIDS)
    bad_value(opt, text, cat("at most ", MAX_PIDS, " (the kernel's PID_MAX_LIMIT)"));
  return *n;
}

unsigned host_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

void parse_limit_option(Limits &limits, std::string_view option, std::string_view value) {
  // The parsers name the unit; say which option it was instead.
  try {
    if (option == "--mem")
      limits.memory = parse_mib(value);
    else if (option == "-m" || option == "--memory")
      limits.memory = parse_size(value);
    else if (option == "--swap")
      limits.swap = parse_mib(value, true); // 0: no swap at all, a real choice
    else if (option == "--cpus")
      limits.nano_cpus = parse_cpus(value, host_cpus());
    else if (option == "--pids" || option == "--pids-limit")
      limits.pids = parse_pids(value);
    else
      throw std::invalid_argument(cat("parse_limit_option: unknown option ", option));
  } catch (const Error &e) {
    std::string msg = e.what();
    auto quote = msg.find(" value '");
    fail("invalid ", option, msg.substr(quote));
  }
}

void check_limits(const Limits &l) {
  if (l.swap && !l.memory)
    fail("invalid limits: --swap needs a memory limit (--mem or --memory) beside it");
  if (l.memory && *l.memory < MIN_MEMORY)
    fail("invalid memory limit of ", *l.memory, " bytes: the minimum is 6MiB, as docker's");
  if (l.memory && l.swap && *l.swap != UNLIMITED && *l.swap > ((uint64_t(1) << 63) - 1) - *l.memory)
    fail("invalid limits: memory plus swap is above 8 EiB");
  if (l.memory && !l.swap && *l.memory > ((uint64_t(1) << 62) - 1))
    fail("invalid limits: memory plus swap (as much as memory) is above 8 EiB");
}

} // namespace koker::cgroup
