// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker {

// "12.3MB": docker's units (powers of 1000, three significant digits).
std::string human_size(uint64_t bytes);
// The same in powers of 1024, as docker stats counts memory: "1.5MiB".
std::string human_size_binary(uint64_t bytes);
// docker's go-units HumanDuration: "Less than a second", "3 seconds", "About a minute",
// "5 minutes", "About an hour", "2 hours", "3 days", "2 weeks", "4 months", "2 years".
std::string human_duration(int64_t seconds);
// Seconds since the epoch of an RFC 3339 time ("2024-05-01T10:00:00.123Z", offsets allowed).
std::optional<int64_t> parse_rfc3339(std::string_view text);
// "3 minutes ago", or "N/A" for an unparsable time.
std::string time_ago(std::string_view rfc3339);
// The time as docker's CreatedAt prints it (Go's time.String, in UTC):
// "2024-05-01 10:00:00 +0000 UTC", or "N/A".
std::string created_at(std::string_view rfc3339);

// Columns as docker prints them: each as wide as its widest cell (counted in characters, not
// bytes, so "…" takes one), three spaces apart, no padding after the last.
std::string render_table(const std::vector<std::vector<std::string>> &rows);

} // namespace koker
