// SPDX-License-Identifier: MIT
#include "runtime/user.hpp"
#include "base/text.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include <algorithm>
#include <optional>

namespace koker::user {

namespace {

// The lines of a passwd/group file, split into fields; comments and short lines skipped.
std::vector<std::vector<std::string>> entries(std::string_view text, size_t min_fields) {
  std::vector<std::vector<std::string>> out;
  for (auto line : text::split(text, '\n')) {
    if (line.empty() || line[0] == '#')
      continue;
    auto f = text::split(line, ':');
    if (f.size() >= min_fields)
      out.push_back(std::move(f));
  }
  return out;
}

std::optional<uint32_t> number(std::string_view s) {
  auto n = sys::parse_uint(s);
  if (!n || *n > 0xFFFFFFFEu)
    return std::nullopt;
  return static_cast<uint32_t>(*n);
}

} // namespace

gid_t find_group(std::string_view name_or_id, std::string_view group) {
  for (const auto &f : entries(group, 3)) {
    auto gid = number(f[2]);
    if (gid && (f[0] == name_or_id || (number(name_or_id) && *number(name_or_id) == *gid)))
      return *gid;
  }
  auto gid = number(name_or_id);
  if (!gid)
    fail("unable to find group ", printable(name_or_id), ": no matching entries in group file");
  return *gid;
}

Identity resolve(std::string_view spec, std::string_view passwd, std::string_view group) {
  Identity id;
  if (spec.empty())
    spec = "0";
  size_t colon = spec.find(':');
  std::string_view user_part = spec.substr(0, colon);
  std::string_view group_part = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  if (user_part.empty())
    fail("invalid user ", printable(spec));

  std::string name;
  bool found = false;
  for (const auto &f : entries(passwd, 7)) {
    auto uid = number(f[2]), gid = number(f[3]);
    if (!uid || !gid)
      continue;
    if (f[0] == user_part || (number(user_part) && *number(user_part) == *uid)) {
      id.uid = *uid;
      id.gid = *gid;
      id.home = f[5].empty() ? "/" : std::string(f[5]);
      name = std::string(f[0]);
      found = true;
      break;
    }
  }
  if (!found) {
    auto uid = number(user_part);
    if (!uid)
      fail("unable to find user ", printable(user_part), ": no matching entries in passwd file");
    id.uid = *uid;
  }

  auto groups = entries(group, 3);
  if (!group_part.empty())
    id.gid = find_group(group_part, group);
  id.groups.push_back(id.gid);
  if (!name.empty())
    for (const auto &f : groups) {
      auto gid = number(f[2]);
      if (!gid || f.size() < 4)
        continue;
      for (auto member : text::split(f[3], ','))
        if (member == name && std::find(id.groups.begin(), id.groups.end(), *gid) == id.groups.end())
          id.groups.push_back(*gid);
    }
  return id;
}

} // namespace koker::user
