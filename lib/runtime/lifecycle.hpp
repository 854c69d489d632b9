// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include "store/container.hpp"
#include <optional>
#include <string>

// Stopping and removing containers: what koker-stop, koker-rm and koker-run --rm share. Every
// host resource a container holds (its processes, cgroup, network, files, name) is released
// here, also for a container whose koker-run or supervisor was killed.
namespace koker::lifecycle {

// The record as it really is, after doing what a killed koker-run or supervisor left undone
// for an orphaned container (container::orphaned): its cgroup, address, ports and rules are
// released and its exit recorded (255: status unknown), or with --rm (AutoRemove) the
// container is removed, as docker does; nothing is returned then. koker-ps, koker-stop,
// koker-rm and koker-net gc call it, so the first of them to find the container dead cleans up.
std::optional<container::Record> settle(const std::string &root, const container::Record &rec);
// Every container of the store as settle() leaves it (container::list's order, the removed
// ones left out). Whether a running one's process still runs is a read of /proc/PID/stat
// each, done on a few threads as list() reads the records (koker-ps with 1000 running);
// settle() itself runs, one after another, only for the rest.
std::vector<container::Record> settle_all(const std::string &root);

// Sends signal to the container's first process (through a pidfd, so a reused PID is never
// hit). With signal 0: the container's stop signal (its StopSignal, else SIGTERM), then
// SIGKILL to every process after timeout_s seconds (< 0: its StopTimeout, else 10), as
// docker stop. Returns once the container's processes are gone (or at once for signal != 0),
// settled: when its supervisor is gone too, nothing else would release what it holds.
void stop(const std::string &root, const container::Record &rec, int timeout_s, int signal);

// Rootless (runtime/userns.hpp): the containers named by argv[optind..] that run are stopped
// (as stop with signal 0) from the host's user namespace, before the tool enters one of its
// own: from that sibling namespace it could not signal a container's process that runs as
// any other user than root. Errors are left to the tool's own pass over the names. Nothing
// for root.
void stop_outside(const std::string &root, int argc, char **argv, int timeout_s);

// Removes the container: refused while it runs unless force (which kills it first). Releases
// the cgroup, the network, the name, its volumes and the directory; with remove_volumes
// (rm -v), or for a --rm container, its anonymous volumes go too, unless another container
// uses them (docker's rule). Safe to call again after a crash halfway.
void remove(const std::string &root, const container::Record &rec, bool force,
            bool remove_volumes = false);

// Releases what a container holds on the host once its processes are gone (cgroup, network),
// keeping its record and files. group: the container's, when the caller has it already.
void release_resources(const std::string &root, const container::Record &rec,
                       cgroup::Group *group = nullptr);

// remove() for the process that has just reaped the container's first process (koker-run
// --rm, or its supervisor): nothing to stop, wait for or look up again.
void remove_reaped(const std::string &root, const container::Record &rec, cgroup::Group *group,
                   bool remove_volumes = false);

// Removes a container whose record cannot be read (koker-rm -f): its processes are found by
// its cgroup and killed, the cgroup, its names and its directory go; its address and ports
// are left to koker-net gc, which frees leases of containers without a readable record.
void remove_unreadable(const std::string &root, const std::string &id);
// Removes what a koker-run killed before it saved the record left (store::abandoned_container):
// its cgroup (and the container process it may have cloned into it), its root's overlay, its
// names and its directory. Its address is left to koker-net gc, as above. With no ids, every
// such directory of the store: koker-rmi, koker-load and system prune call it before the
// store's garbage collection; settle_all() calls it for the directories list() found unsaved.
void reclaim_abandoned(const std::string &root, const std::vector<std::string> &ids);
void reclaim_abandoned(const std::string &root);

// pause/unpause: freezes (or thaws) the container's processes (cgroup::Group::freeze) and
// records State.Paused; Error when it is not running, already paused, or not paused.
void pause(const std::string &root, const container::Record &rec, bool paused);
// Waits (up to 15 s) for the container's supervisor to end, if another process: one that
// saw its container exit records that and releases what it held; one that saw a stop by the
// user restarts nothing (restart policies).
void wait_for_supervisor(const container::Record &rec);

// Parses a signal given as "TERM", "SIGTERM" or "15"; throws Error for an unknown one.
int parse_signal(std::string_view text);

} // namespace koker::lifecycle
