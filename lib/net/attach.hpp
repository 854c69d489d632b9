// SPDX-License-Identifier: MIT
#pragma once
#include "store/container.hpp"
#include <string>
#include <sys/types.h>

namespace koker::net {

// Runs koker-net (beside this tool) as "koker-net attach ID PID [-p PORT]...": the bridge
// (made if missing), the veth pair, the address and the port rules are koker-net's, so that
// koker-run links no netlink library and can be a static binary. koker-net's messages reach
// the user as they are; when it fails, the Error thrown carries its exit code and an empty
// message (it said why already). Returns the container's address.
std::string attach_with_tool(const container::Record &rec, pid_t pid);

} // namespace koker::net
