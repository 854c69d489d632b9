// SPDX-License-Identifier: MIT
#include "runtime/lifecycle.hpp"
#include "store/store.hpp"
#include "cgroup/cgroup.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/parallel.hpp"
#include "base/rootless.hpp"
#include "runtime/userns.hpp"
#include <getopt.h>
#include "net/net.hpp"
#include "store/volume.hpp"
#include "base/sys.hpp"
#include <chrono>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::lifecycle {

namespace {

// A pidfd for the container's process, checked against its start time after it was taken: if
// the PID was reused in between, the check fails and nothing is signalled.
Fd open_container_pidfd(const container::Record &rec) {
  if (rec.pid <= 0)
    return Fd();
  long fd = ::syscall(SYS_pidfd_open, rec.pid, 0);
  if (fd < 0)
    return Fd();
  Fd pidfd(static_cast<int>(fd));
  if (!container::process_alive(rec.pid, rec.pid_start))
    return Fd();
  return pidfd;
}

bool wait_exit(int pidfd, int timeout_ms) {
  struct pollfd p = {pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR)
      continue;
    return r > 0;
  }
}

void send(int pidfd, const container::Record &rec, int sig) {
  log::debug("pidfd_send_signal ", rec.pid, " ", sig);
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0 && errno != ESRCH)
    sys_fail("unable to signal container ", rec.id.substr(0, 12));
}

// After the grace period: SIGKILL to the first process and to the rest of its cgroup.
void kill_all(const container::Record &rec, int pidfd, int timeout_s) {
  if (timeout_s > 0)
    log::info("container ", rec.id.substr(0, 12), " did not stop within ", timeout_s,
              " s: killing it");
  // Killing the first process of a PID namespace kills every process in it.
  send(pidfd, rec, SIGKILL);
  if (auto group = cgroup::Group::open(rec.id, rec.cgroup_parent))
    group->kill_all(SIGKILL);
  if (!wait_exit(pidfd, 10000))
    fail("container ", rec.id.substr(0, 12), " did not die after SIGKILL");
}

// Takes the container's volumes back; with anonymous, removes those made for it (docker's
// rm -v and --rm) unless another container uses them. A failure is a warning: the container
// goes all the same, and volume prune finds what is left.
void release_volumes(const std::string &root, const container::Record &rec, bool anonymous) {
  for (const auto &m : rec.mounts) {
    if (m.type != "volume")
      continue;
    try {
      volume::release(root, m.name, rec.id);
      auto v = volume::find(root, m.name);
      if (anonymous && v && v->anonymous() && volume::users(root, m.name).empty()) {
        log::debug("removing anonymous volume ", m.name, " with container ", rec.id.substr(0, 12));
        volume::remove(root, m.name);
      }
    } catch (const std::exception &e) {
      log::warn("unable to release volume ", m.name, ": ", e.what());
    }
  }
}

} // namespace

void remove_unreadable(const std::string &root, const std::string &id) {
  try {
    if (auto group = cgroup::Group::open(id))
      group->remove(true);
  } catch (const std::exception &e) {
    log::warn("unable to remove the cgroup of ", id.substr(0, 12), ": ", e.what());
  }
  container::release_names_of(root, id);
  std::string dir = container::dir_of(root, id);
  log::debug("rm -rf ", dir, " (its record cannot be read)");
  sys::rm_rf(dir);
}

void reclaim_abandoned(const std::string &root, const std::vector<std::string> &ids) {
  for (const auto &id : ids) {
    if (!store::abandoned_container(root, id))
      continue; // being created, or saved since (checked again under the store's lock)
    try {
      store::remove_abandoned_container(root, id, [&] {
        log::debug("container ", id.substr(0, 12), ": its koker-run died before saving its record");
        if (auto group = cgroup::Group::open(id))
          group->remove(true);
        sys::unmount(container::dir_of(root, id) + "/bundle/rootfs");
        container::release_names_of(root, id);
      });
    } catch (const std::exception &e) {
      log::warn("unable to remove what a killed koker-run left of container ", id.substr(0, 12),
                ": ", e.what());
    }
  }
}

void reclaim_abandoned(const std::string &root) {
  // No record is read: abandoned_container() looks for the record file, then the claim.
  std::string dir = root + "/containers";
  if (!sys::exists(dir))
    return;
  std::vector<std::string> ids;
  for (auto &name : sys::list_dir(dir))
    if (container::valid_id(name))
      ids.push_back(std::move(name));
  reclaim_abandoned(root, ids);
}

int parse_signal(std::string_view text) {
  if (auto n = sys::parse_uint(text); n && *n > 0 && *n < static_cast<uint64_t>(NSIG))
    return static_cast<int>(*n);
  std::string name(text);
  for (auto &c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0)
    name.erase(0, 3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char *abbrev = ::sigabbrev_np(sig);
    if (abbrev && name == abbrev)
      return sig;
  }
  fail("invalid signal ", printable(text));
}

namespace {

// A root left mounted by a start killed midway (koker-start or koker-create, kill -9): no
// process runs from it and none is starting it.
void unmount_stale_root(const std::string &root, const container::Record &rec) {
  if (rec.status != "created" && rec.status != "exited")
    return;
  std::string bundle = container::dir_of(root, rec.id) + "/bundle";
  if (!sys::is_mount_point(bundle + "/rootfs") ||
      container::process_alive(rec.supervisor, rec.supervisor_start))
    return;
  log::debug("container ", rec.id.substr(0, 12), " is ", rec.status,
             " with its root mounted and nothing starting it: unmounting it");
  try {
    sys::unmount(bundle + "/rootfs");
  } catch (const std::exception &e) {
    log::warn("unable to unmount the root of ", rec.id.substr(0, 12), ": ", e.what());
  }
}

} // namespace

std::vector<container::Record> settle_all(const std::string &root) {
  std::vector<std::string> unsaved;
  std::vector<container::Record> all = container::list(root, &unsaved);
  reclaim_abandoned(root, unsaved);
  // Running and alive: settle() would return it as it is (nothing to unmount or release).
  std::vector<char> as_is(all.size());
  parallel::for_each(all.size(), parallel::threads_for(all.size()), [&](size_t i, const std::atomic<bool> &) {
    as_is[i] = all[i].status == "running" && !container::orphaned(all[i]);
  });
  std::vector<container::Record> out;
  out.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i)
    if (as_is[i])
      out.push_back(std::move(all[i]));
    else if (auto now = settle(root, all[i]))
      out.push_back(std::move(*now));
  return out;
}

std::optional<container::Record> settle(const std::string &root, const container::Record &rec) {
  unmount_stale_root(root, rec);
  if (!container::orphaned(rec))
    return rec;
  if (!sys::exists(container::dir_of(root, rec.id)))
    return std::nullopt;
  // Under the container's lock, so that of two tools finding it dead one cleans up. A store
  // that takes no lock file (read-only, full) is only looked at: the truth, unsaved.
  std::optional<sys::FileLock> lock;
  try {
    lock.emplace(container::dir_of(root, rec.id) + "/lock", sys::FileLock::Mode::exclusive);
  } catch (const Error &e) {
    log::debug("unable to settle container ", rec.id.substr(0, 12), ": ", e.what());
    return container::refresh(root, rec);
  }
  auto now = container::load(root, rec.id);
  if (!now)
    return std::nullopt; // removed meanwhile
  if (!container::orphaned(*now))
    return container::refresh(root, *now);
  if (now->auto_remove) {
    log::debug("container ", now->id.substr(0, 12),
               " ended with nothing waiting for it: removing it (--rm)");
    remove_reaped(root, *now, nullptr);
    return std::nullopt;
  }
  log::debug("container ", now->id.substr(0, 12), ": process ", now->pid,
             " is gone and nothing waits for it: releasing what it held, marking it exited");
  release_resources(root, *now);
  *now = container::refresh(root, *now);
  try {
    container::save(root, *now);
  } catch (const Error &e) {
    // A full or read-only store: released all the same, and the truth told, just not kept.
    log::debug("unable to save the record of ", now->id.substr(0, 12), ": ", e.what());
  }
  return now;
}

namespace {

// docker's HasBeenManuallyStopped: the restart policy ends (start clears it). Set for stop and
// for a kill with SIGKILL or SIGTERM; another signal (HUP to reload) leaves the policy be.
bool ends_policy(int signal) { return signal == 0 || signal == SIGKILL || signal == SIGTERM; }

} // namespace

void stop(const std::string &root, const container::Record &rec, int timeout_s, int signal) {
  bool policy = rec.restart_policy != "no" && ends_policy(signal);
  if (policy) {
    log::debug("container ", rec.id.substr(0, 12), ": stopped by the user, its restart policy ends");
    container::update(root, rec.id, [](container::Record &r) { r.manually_stopped = true; });
    // The process may have changed meanwhile (a restart): signal the current one.
    if (auto now = container::load(root, rec.id)) {
      container::Record current = *now;
      Fd pidfd = open_container_pidfd(current);
      if (pidfd) {
        send(pidfd.get(), current, signal ? signal : SIGTERM);
        if (signal == 0 && !wait_exit(pidfd.get(), timeout_s * 1000))
          kill_all(current, pidfd.get(), timeout_s);
      }
      wait_for_supervisor(current);
      settle(root, current);
    }
    return;
  }
  Fd pidfd = open_container_pidfd(rec);
  if (!pidfd) {
    if (signal != 0)
      fail("container ", rec.id.substr(0, 12), " is not running");
    settle(root, rec); // already stopped: docker stop succeeds
    return;
  }
  if (rec.paused) // docker stop and kill of a paused container: thawed first, then signalled
    pause(root, rec, false);
  if (signal != 0) {
    send(pidfd.get(), rec, signal);
    return;
  }
  // docker: the container's StopSignal (--stop-signal, else the image's) and StopTimeout
  int stop_signal = SIGTERM;
  if (!rec.stop_signal.empty())
    try {
      stop_signal = parse_signal(rec.stop_signal);
    } catch (const Error &e) {
      log::warn("container ", rec.id.substr(0, 12), ": ", e.what(), ": SIGTERM instead");
    }
  if (timeout_s < 0)
    timeout_s = rec.stop_timeout.value_or(10);
  send(pidfd.get(), rec, stop_signal);
  if (!wait_exit(pidfd.get(), timeout_s * 1000))
    kill_all(rec, pidfd.get(), timeout_s);
  // As docker stop, done when the container is wholly stopped: its supervisor has recorded
  // the exit and released the cgroup and the root, so a start right after (koker-restart)
  // cannot find it still busy, nor have its new cgroup removed by the old supervisor.
  wait_for_supervisor(rec);
  settle(root, rec);
}

void wait_for_supervisor(const container::Record &rec) {
  if (rec.supervisor <= 0 || rec.supervisor == static_cast<int>(::getpid()))
    return;
  long fd = ::syscall(SYS_pidfd_open, rec.supervisor, 0);
  if (fd < 0)
    return;
  Fd sup(static_cast<int>(fd));
  if (container::process_alive(rec.supervisor, rec.supervisor_start)) {
    log::debug("wait for supervisor ", rec.supervisor, " of ", rec.id.substr(0, 12), " to end");
    wait_exit(sup.get(), 15000);
  }
}

void release_resources(const std::string &root, const container::Record &rec,
                       cgroup::Group *group) {
  try {
    if (group)
      group->remove(true);
    else if (auto found = cgroup::Group::open(rec.id, rec.cgroup_parent))
      found->remove(true);
  } catch (const std::exception &e) {
    log::warn("unable to remove the cgroup of ", rec.id.substr(0, 12), ": ", e.what());
  }
  net::release_container(root, rec); // veth, published ports, address
  try {
    // Its root, when mounted here still: rootless koker's, or one an older koker left on the
    // host (the host's copy now goes once the init has exec'd, launch::Request).
    std::string mount_point = container::dir_of(root, rec.id) + "/bundle/rootfs";
    if (sys::is_mount_point(mount_point))
      sys::unmount(mount_point);
  } catch (const std::exception &e) {
    log::warn("unable to unmount the root of ", rec.id.substr(0, 12), ": ", e.what());
  }
}

void remove(const std::string &root, const container::Record &rec, bool force,
            bool remove_volumes) {
  container::Record now = container::refresh(root, rec);
  // docker: a container waiting to restart goes only with -f, which ends its policy first.
  if (now.status == "restarting" && !force)
    fail("cannot remove restarting container ", now.id.substr(0, 12),
         ": stop it first or use -f");
  if (force && now.restart_policy != "no" &&
      (now.status == "running" || now.status == "restarting")) {
    stop(root, now, 0, SIGKILL);
    now = container::refresh(root, container::load(root, now.id).value_or(now));
  }
  if (container::process_alive(now.pid, now.pid_start)) {
    if (!force)
      fail("cannot remove running container ", now.id.substr(0, 12),
           ": stop it first or use -f");
    stop(root, now, 0, SIGKILL);
    Fd pidfd = open_container_pidfd(now);
    if (pidfd && !wait_exit(pidfd.get(), 10000))
      fail("container ", now.id.substr(0, 12), " did not die after SIGKILL");
  }
  // A supervisor still alive is recording the exit and releasing resources: let it finish
  // (it removes the container itself with --rm) before the files go.
  if (now.supervisor != static_cast<int>(::getpid()) &&
      container::process_alive(now.supervisor, now.supervisor_start)) {
    long fd = ::syscall(SYS_pidfd_open, now.supervisor, 0);
    if (fd >= 0) {
      Fd sup(static_cast<int>(fd));
      if (container::process_alive(now.supervisor, now.supervisor_start))
        wait_exit(sup.get(), 10000);
    }
  }
  remove_reaped(root, now, nullptr, remove_volumes);
}

void remove_reaped(const std::string &root, const container::Record &rec, cgroup::Group *group,
                   bool remove_volumes) {
  release_resources(root, rec, group);
  release_volumes(root, rec, remove_volumes || rec.auto_remove);
  container::release_name(root, rec.name);
  std::string dir = container::dir_of(root, rec.id);
  log::debug("rm -rf ", dir);
  sys::rm_rf(dir);
}

// pause/unpause: the group is frozen first, then the record says so (a crash in between
// leaves a frozen container shown as running: unpause thaws it all the same).
void pause(const std::string &root, const container::Record &rec, bool paused) {
  container::Record now = container::refresh(root, rec);
  if (now.status != "running")
    fail("container ", now.name, " is not running");
  if (paused && now.paused)
    fail("container ", now.name, " is already paused");
  auto group = cgroup::Group::open(now.id, now.cgroup_parent);
  if (!group)
    fail("unable to ", paused ? "pause" : "unpause", " container ", now.name, ": ",
         rootless::active() ? rootless::NO_CGROUP : "it has no cgroup");
  if (!paused && !now.paused && !group->frozen())
    fail("container ", now.name, " is not paused");
  log::debug(paused ? "freeze" : "thaw", " the cgroup of ", now.id.substr(0, 12));
  group->freeze(paused);
  container::update(root, now.id, [paused](container::Record &r) { r.paused = paused; });
}

void stop_outside(const std::string &root, int argc, char **argv, int timeout_s) {
  if (!rootless::active() || userns::inside())
    return;
  for (int i = optind; i < argc; ++i) {
    try {
      container::Record rec = container::get(root, argv[i]);
      if (rec.status == "running") {
        log::debug("rootless: stopping ", rec.id.substr(0, 12), " from the host's namespace");
        stop(root, rec, timeout_s, 0);
      }
    } catch (const Error &) {
      // the tool's own pass says what is wrong with this one
    }
  }
}

} // namespace koker::lifecycle
