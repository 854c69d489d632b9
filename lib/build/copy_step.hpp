// SPDX-License-Identifier: MIT
#pragma once
#include "build/context.hpp"
#include "build/workspace.hpp"
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

// COPY and ADD into a workspace, with docker's rules: a directory copies its contents, a
// destination ending in "/" (or an existing directory, or several sources) is a directory the
// sources go into, else the one file is copied to that name; missing directories on the way
// are made (owned by --chown's user); every file belongs to root, or to --chown's user and
// group (names looked up in the image's own /etc/passwd and /etc/group; a user alone is also
// the group, by number); --chmod sets the permission bits. ADD unpacks a local tar archive
// (plain, gzip, bzip2, xz or zstd, told by its content) into the destination. Every path in
// the image resolves inside it (a child chrooted there writes the files: a symlink in the
// image cannot send them onto the host).
namespace koker::build_copy {

struct Request {
  bool add = false;
  const build_context::Context *from = nullptr; // the build context, or another stage's root
  std::vector<std::string> sources;             // context paths (Context::sources)
  std::string dest;                              // absolute; a trailing "/" kept
  std::string chown;                             // --chown as given, "" for root
  std::optional<mode_t> chmod;
};

void copy(const build_workspace::Workspace &ws, const Request &r);

// --chmod's octal mode ("755", "0644"); nullopt when it is not one.
std::optional<mode_t> parse_chmod(std::string_view text);

} // namespace koker::build_copy
