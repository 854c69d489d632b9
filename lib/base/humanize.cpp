// SPDX-License-Identifier: MIT
#include "base/humanize.hpp"
#include "base/error.hpp"
#include <cstdio>
#include <algorithm>
#include <ctime>

namespace koker {

namespace {
// bytes in the largest of units (each base times the one before) that keeps it at least 1,
// with the given number of significant digits.
std::string scaled(uint64_t bytes, double base, const char *const units[5], int digits) {
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= base && u < 4) {
    v /= base;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f%s", v, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.*g%s", digits, v, units[u]);
  return buf;
}
} // namespace

std::string human_size(uint64_t bytes) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
  return scaled(bytes, 1000, units, 3);
}

std::string human_size_binary(uint64_t bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  return scaled(bytes, 1024, units, 4);
}

std::string human_duration(int64_t s) {
  if (s < 1)
    return "Less than a second";
  if (s == 1)
    return "1 second";
  if (s < 60)
    return cat(s, " seconds");
  int64_t m = s / 60;
  if (m == 1)
    return "About a minute";
  if (m < 60)
    return cat(m, " minutes");
  int64_t h = m / 60;
  if (h == 1 && m < 90)
    return "About an hour";
  if (h < 48)
    return cat(h < 2 ? 2 : h, " hours");
  if (h < 24 * 7 * 2)
    return cat(h / 24, " days");
  if (h < 24 * 30 * 2)
    return cat(h / 24 / 7, " weeks");
  if (h < 24 * 365 * 2)
    return cat(h / 24 / 30, " months");
  return cat(h / 24 / 365, " years");
}

std::optional<int64_t> parse_rfc3339(std::string_view t) {
  int y, mo, d, h, mi, s;
  std::string text(t.substr(0, 64));
  int used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
      6)
    return std::nullopt;
  size_t p = static_cast<size_t>(used);
  while (p < text.size() && (text[p] == '.' || (text[p] >= '0' && text[p] <= '9')))
    ++p;
  int64_t offset = 0;
  if (p < text.size() && (text[p] == '+' || text[p] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + p + 1, "%2d:%2d", &oh, &om) != 2)
      return std::nullopt;
    offset = (text[p] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

std::string time_ago(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t)
    return "N/A";
  return human_duration(static_cast<int64_t>(::time(nullptr)) - *t) + " ago";
}

std::string created_at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  struct tm tm {};
  time_t when = t ? static_cast<time_t>(*t) : 0;
  char buf[64];
  if (!t || !::gmtime_r(&when, &tm) ||
      !std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm))
    return "N/A";
  return buf;
}

static size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80; // UTF-8 continuation bytes take no column
  return n;
}

std::string render_table(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> width;
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i)
        width.push_back(0);
      width[i] = std::max(width[i], display_width(row[i]));
    }
  std::string out;
  for (const auto &row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line.append(width[i] - display_width(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

} // namespace koker
