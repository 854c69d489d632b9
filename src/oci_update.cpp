// SPDX-License-Identifier: MIT
#include "oci_update.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/oci_cgroup.hpp"
#include "runtime/oci_runtime.hpp"
#include "runtime/oci_spec.hpp"
#include <climits>
#include <optional>

namespace koker::oci_cli {

const std::map<std::string, bool> update_flags = {
    {"resources", true},          {"memory", true},         {"memory-swap", true},
    {"memory-reservation", true}, {"kernel-memory", true},  {"kernel-memory-tcp", true},
    {"cpu-share", true},          {"cpu-period", true},     {"cpu-quota", true},
    {"cpu-rt-period", true},      {"cpu-rt-runtime", true}, {"cpuset-cpus", true},
    {"cpuset-mems", true},        {"pids-limit", true},     {"blkio-weight", true}};

void update_container(const std::string &root, const Args &a) {
  if (a.operands.size() != 1)
    fail("update: expected exactly 1 argument, the container id");
  std::string id = one_id(a);
  oci::get(root, id); // runc names an unknown container before it reads anything
  cgroup::Resources r;
  if (a.has("resources")) {
    std::string from = a.get("resources");
    std::string text = from == "-" ? sys::read_fd(0, 1 << 20, "stdin")
                                   : sys::read_file(from, 1 << 20);
    r = oci::parse_resources(text, from == "-" ? "resources from stdin" : from);
  } else {
    // A whole number (negative ones for signed flags only, as runc's ParseInt and ParseUint).
    auto number = [&](const char *flag, bool is_signed) -> std::optional<int64_t> {
      if (!a.has(flag))
        return std::nullopt;
      std::string v = a.get(flag);
      bool negative = is_signed && !v.empty() && v[0] == '-';
      auto n = sys::parse_uint(negative ? v.substr(1) : v);
      if (!n || *n > uint64_t(INT64_MAX))
        fail("invalid value for --", flag, ": '", printable(v, 40), "' is not a whole number",
             is_signed ? "" : " from 0");
      return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
    };
    auto natural = [&](const char *flag) -> std::optional<uint64_t> {
      auto n = number(flag, false);
      return n ? std::optional<uint64_t>(static_cast<uint64_t>(*n)) : std::nullopt;
    };
    // Sizes as docker's go-units reads them ("512m"), or -1 for no limit.
    auto size = [&](const char *flag) -> std::optional<int64_t> {
      if (!a.has(flag))
        return std::nullopt;
      std::string v = a.get(flag);
      if (v == "-1" || v == "0")
        return v == "-1" ? -1 : 0;
      try {
        return static_cast<int64_t>(cgroup::parse_size(v));
      } catch (const Error &e) {
        std::string why = e.what(); // "invalid size value '12q': not a size (...)"
        fail("invalid value for --", flag, ":", why.substr(why.find(" '")));
      }
    };
    r.memory_limit = size("memory");
    r.memory_swap = size("memory-swap");
    r.memory_reservation = size("memory-reservation");
    r.memory_kernel = size("kernel-memory");
    r.memory_kernel_tcp = size("kernel-memory-tcp");
    r.cpu_shares = natural("cpu-share");
    r.cpu_period = natural("cpu-period");
    r.cpu_quota = number("cpu-quota", true);
    r.cpu_rt_period = natural("cpu-rt-period");
    r.cpu_rt_runtime = number("cpu-rt-runtime", true);
    r.cpuset_cpus = a.get("cpuset-cpus");
    r.cpuset_mems = a.get("cpuset-mems");
    r.pids_limit = number("pids-limit", true);
    if (auto w = number("blkio-weight", false)) {
      if (*w > 1000 || (*w != 0 && *w < 10))
        fail("invalid value for --blkio-weight: ", *w, " (the range is 10 to 1000)");
      r.blkio_weight = static_cast<uint16_t>(*w);
    }
  }
  oci::update(root, id, std::move(r));
}

} // namespace koker::oci_cli
