// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"

// A container's network namespace outside its clone. koker-run on a bridge makes it ahead, on
// the thread that starts koker-net, so that the veth pair and the address are made while
// koker-run still builds the container, instead of between its clone and its exec
// (bench/README.md); the init then joins it (launch::Request::net_namespace).
namespace koker::net {

// A new network namespace with lo up. unshare(CLONE_NEWNET) moves the calling thread alone;
// it goes back to the namespace it was in before this returns, and the new one lives on
// through the returned descriptor (nsfs), for as long as it or a process in it does.
Fd make_namespace();

// Brings lo up in the calling thread's network namespace: a new one starts with it down, and
// runc brings it up, as koker does for every network mode (koker-net adds only eth0).
void loopback_up();

} // namespace koker::net
