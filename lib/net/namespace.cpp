// SPDX-License-Identifier: MIT
#include "net/namespace.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include <cstdio>
#include <exception>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace koker::net {

void loopback_up() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s)
    sys_fail("unable to open a socket to configure lo");
  struct ifreq ifr {};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
  check(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), "unable to read the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  log::debug("ip link set lo up");
  check(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "unable to bring lo up");
}

Fd make_namespace() {
  Fd before(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!before)
    sys_fail("unable to open /proc/thread-self/ns/net");
  log::debug("unshare(CLONE_NEWNET) on a thread of its own: the container's network namespace, "
             "made ahead");
  check(::unshare(CLONE_NEWNET), "unable to make a network namespace");
  Fd made;
  std::exception_ptr failed;
  try {
    made = Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!made)
      sys_fail("unable to open the new network namespace");
    loopback_up();
  } catch (...) {
    failed = std::current_exception();
  }
  // Back to the host's namespace whatever happened: the thread is koker-run's, not the
  // container's, and the new namespace lives on through made.
  if (::setns(before.get(), CLONE_NEWNET) < 0)
    sys_fail("unable to return to the host's network namespace");
  if (failed)
    std::rethrow_exception(failed);
  return made;
}

NamespaceAhead::NamespaceAhead() {
  m_thread = std::thread([this] {
    try {
      m_made = make_namespace();
    } catch (const std::exception &e) {
      m_error = e.what();
    }
  });
}

int NamespaceAhead::get() {
  join();
  if (!m_error.empty())
    fail(m_error);
  return m_made.get();
}

} // namespace koker::net
