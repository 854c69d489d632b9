// SPDX-License-Identifier: MIT
#include "base/resident.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <cinttypes>
#include <cstdio>
#include <malloc.h>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace koker::resident {
namespace {

struct Mapping {
  uintptr_t start = 0, end = 0;
  bool writable = false;
  std::string path;
  uint64_t anonymous_kb = 0; // pages of its own: copies made by writes
};

// /proc/self/smaps: a header line per mapping ("start-end perms offset dev inode path"),
// then "Key: value kB" lines, among them "Anonymous:".
std::vector<Mapping> mappings() {
  std::vector<Mapping> out;
  auto text = sys::read_file_if_exists("/proc/self/smaps", 1 << 20);
  if (!text)
    return out;
  for (const auto &line : text::split(*text, '\n')) {
    uintptr_t start, end;
    char perms[5] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %*s %n", &start, &end,
                    perms, &path_at) == 3 &&
        path_at > 0) {
      Mapping m;
      m.start = start;
      m.end = end;
      m.writable = perms[1] == 'w';
      m.path = line.substr(static_cast<size_t>(path_at));
      out.push_back(std::move(m));
    } else if (!out.empty() && line.rfind("Anonymous:", 0) == 0) {
      out.back().anonymous_kb = std::strtoull(line.c_str() + 10, nullptr, 10);
    }
  }
  return out;
}

} // namespace

void shed() {
  ::malloc_trim(0);
  std::string exe;
  try {
    exe = sys::read_link("/proc/self/exe");
  } catch (const std::exception &) {
    return;
  }
  size_t kb = 0;
  for (const auto &m : mappings()) {
    if (m.path != exe || m.writable || m.anonymous_kb != 0)
      continue;
    if (::madvise(reinterpret_cast<void *>(m.start), m.end - m.start, MADV_DONTNEED) == 0)
      kb += (m.end - m.start) / 1024;
  }
  log::debug("madvise MADV_DONTNEED of ", kb, " KiB of ", exe,
             " (code and constants: back from the page cache when used)");
}

} // namespace koker::resident
