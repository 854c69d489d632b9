// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

// docker's -u/--user and the image's User, resolved in the image's own /etc/passwd and
// /etc/group (never the host's), as runc's user.GetExecUser does.
namespace koker::user {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary, for setgroups(2) (CVE-2023-25173)
  std::string home = "/";
};

// Resolves "", "name", "uid", "name:group", "uid:gid" (any mix) against the text of the image's
// passwd and group files (either may be empty). A numeric uid missing from passwd is used as
// it is, with gid 0; a name missing from passwd is an Error, as in docker.
Identity resolve(std::string_view spec, std::string_view passwd, std::string_view group);
// A group by name or number in the text of the image's group file; a number missing there is
// used as it is, a name missing there is an Error, as in docker (-u's group, --group-add).
gid_t find_group(std::string_view name_or_id, std::string_view group);

} // namespace koker::user
