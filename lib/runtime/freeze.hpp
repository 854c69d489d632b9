// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "cgroup/cgroup.hpp"
#include "store/container.hpp"
#include <optional>
#include <string>
#include <sys/types.h>

// koker-commit -p: a running container frozen while its files are read, so that they are
// read at one point in time (docker commit's default pause). The record is not changed (the
// container is not "paused" to ps or unpause), and the thaw happens whatever way the freezing
// process ends: by this object's destructor, or by a watchdog child when a kill -9 took the
// freezing process first.
namespace koker::freeze {

class Guard {
public:
  // Freezes rec's cgroup when it runs and is not paused already (then nothing to undo).
  // Forks the watchdog first, so the cgroup is never frozen without one. Throws Error when
  // the cgroup cannot be frozen (thawed again, watchdog ended).
  Guard(const std::string &root, const container::Record &rec);
  // Thaws (a failure is a warning), then ends the watchdog.
  ~Guard();
  Guard(const Guard &) = delete;
  Guard &operator=(const Guard &) = delete;
  bool frozen() const { return m_group.has_value(); }

private:
  void release();
  std::optional<cgroup::Group> m_group;
  std::string m_name;
  pid_t m_watchdog = -1;
  Fd m_pipe;
};

} // namespace koker::freeze
