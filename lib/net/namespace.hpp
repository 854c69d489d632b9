// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include <string>
#include <thread>

// A container's network namespace outside its clone. koker-run (as root) makes it ahead, on a
// thread, while it builds the container; on a bridge koker-net plugs it meanwhile, instead of
// between the clone and the exec (bench/README.md); the init then joins it
// (launch::Request::net_namespace).
namespace koker::net {

// A new network namespace with lo up. unshare(CLONE_NEWNET) moves the calling thread alone;
// it goes back to the namespace it was in before this returns, and the new one lives on
// through the returned descriptor (nsfs), for as long as it or a process in it does.
Fd make_namespace();

// make_namespace() on a thread of its own, started here, while the caller builds the
// container: the 0.5 ms the kernel takes to set a network namespace up leave the start's path
// (a clone that makes one spends them there). The caller joins it (get) before it forks or
// clones: a clone3 copies no thread, and a lock the thread held would stay held in the child.
class NamespaceAhead {
public:
  NamespaceAhead();
  NamespaceAhead(const NamespaceAhead &) = delete;
  NamespaceAhead &operator=(const NamespaceAhead &) = delete;
  ~NamespaceAhead() { join(); }
  // Waits for the thread; the namespace, or the Error it met.
  int get();
  // Closes this process's descriptor of it (a cloned child has its own).
  void drop() {
    join();
    m_made.reset();
  }

private:
  void join() {
    if (m_thread.joinable())
      m_thread.join();
  }
  std::thread m_thread;
  Fd m_made;
  std::string m_error;
};

// Brings lo up in the calling thread's network namespace: a new one starts with it down, and
// runc brings it up, as koker does for every network mode (koker-net adds only eth0).
void loopback_up();

} // namespace koker::net
