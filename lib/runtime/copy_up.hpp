// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>

// docker's volume copy-up: a new container's empty volume is first filled with what the image
// holds at the volume's path, so that an image's VOLUME /var/lib/db starts with the image's
// files in it.
namespace koker::copy_up {

// Copies the directory path of the container's root root_fd (resolved inside the root,
// openat2 RESOLVE_IN_ROOT: an image's symlink there cannot lead to a host path) into the
// directory dest when dest is empty: files, directories, symlinks (as symlinks, never
// followed), FIFOs and device nodes, with owners, modes and times; hard links between its
// files stay hard links, and user.* and security.capability attributes are kept. Nothing
// when path is not a directory in the image or dest holds anything. Returns whether it
// copied; throws Error naming the entry that failed.
bool fill_if_empty(int root_fd, std::string_view path, const std::string &dest);

} // namespace koker::copy_up
