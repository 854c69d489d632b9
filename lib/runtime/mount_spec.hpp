// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>
#include <vector>

// What -v, --mount and --tmpfs ask for (issue 16.2), in docker's syntax, checked before
// anything touches the host. create::make_record turns them into the record's Mounts, and
// run_spec those into the bundle's mounts.
namespace koker::mount_spec {

struct Spec {
  std::string type;   // "bind", "volume" or "tmpfs"
  std::string source; // a bind's host path; a volume's name ("" for an anonymous one)
  std::string target; // absolute, no "..", not "/"
  bool read_only = false;
  bool nocopy = false;           // volume-nocopy / -v ...:nocopy: the image's content not copied
  bool from_volume_flag = false; // -v (docker makes a missing bind source only for -v)
  std::string tmpfs_options;     // "size=...,mode=..." as the kernel takes them
};

// -v: "HOSTPATH:PATH[:OPTS]" (a bind), "NAME:PATH[:OPTS]" (a volume, NAME as docker's volume
// names), "PATH" (an anonymous volume); OPTS: ro, rw, nocopy, comma-separated. Throws Error
// ("invalid volume SPEC: ...") otherwise.
Spec parse_volume(std::string_view spec);
// --mount: docker's CSV fields type=, source=/src=, target=/dst=/destination=,
// readonly/ro[=BOOL], volume-nocopy, tmpfs-size=, tmpfs-mode=; docker's messages.
Spec parse_mount(std::string_view spec);
// --tmpfs: "PATH[:OPTIONS]", OPTIONS the tmpfs's own (size=, mode=, nr_inodes=, uid=, gid=)
// and ro, rw, exec, noexec, suid, nosuid, dev, nodev.
Spec parse_tmpfs(std::string_view spec);

// Throws Error("Duplicate mount point: PATH") when two specs share a target (docker's check).
void check_distinct_targets(const std::vector<Spec> &specs);
// path cleaned as Go's path.Clean does for an absolute path ("/a//b/." is "/a/b").
std::string clean(std::string_view path);

} // namespace koker::mount_spec
