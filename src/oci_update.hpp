// SPDX-License-Identifier: MIT
#pragma once
#include "oci_args.hpp"
#include <map>
#include <string>

// koker-oci update: new resources for a running container's group, from runc's flags or a
// linux.resources document.
namespace koker::oci_cli {

extern const std::map<std::string, bool> update_flags;

// The resources from a file or stdin (containerd writes JSON to stdin, podman a file), or else
// from the flags, each as runc reads it; 0 leaves a value as it is.
void update_container(const std::string &root, const Args &a);

} // namespace koker::oci_cli
