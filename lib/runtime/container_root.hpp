// SPDX-License-Identifier: MIT
#pragma once
#include "base/fd.hpp"
#include "runtime/rootfs.hpp"
#include "store/container.hpp"
#include <functional>
#include <string>
#include <sys/types.h>

// A container's files for the tools that read or write them from the host (koker-cp,
// koker-export): its root opened as a directory, and a child process confined to it, so that
// no path the container controls is ever resolved against the host's root (CVE-2018-15664).
namespace koker::container_root {

// The root the container's processes see (/proc/PID/root: its volumes and tmpfs included) when
// it runs; else its overlay, mounted in a private mount namespace this process enters
// (unshare(CLONE_NEWNS), "/" made rprivate), so the mount goes with the process however it
// ends, kill -9 included. The caller holds the container's lock for a stopped one.
Fd open_for_copy(const std::string &root, const container::Record &rec);
// The container's own file system without the mounts its processes see (docker export): its
// root mount alone, cloned from its mount namespace while it runs, else mounted as
// open_for_copy does.
Fd open_merged(const std::string &root, const container::Record &rec);
// Forks a child that makes root_fd its root (fchdir + chroot: every path, symlinks included,
// then resolves inside it, as docker's chrootarchive does) and runs fn there; an Error fn
// throws is printed as the tool's fatal line and becomes the child's exit status. The child
// is single-threaded and loads nothing from the container (a static tool: no dlopen,
// CVE-2019-14271).
pid_t fork_in_root(int root_fd, const std::function<void()> &fn);
// Runs fn in a child process that mounts overlay in a mount namespace of its own (koker-run
// and koker-create reading a new container's root before it runs: its user, its volumes'
// copy-up), so that the host never has the mount and it goes with the child, a kill -9 of
// either included. fn gets the root (O_PATH); its result comes back, or the Error it threw,
// thrown again here with its message and exit code.
std::string in_private_mount(const rootfs::Overlay &overlay,
                             const std::function<std::string(int root_fd)> &fn);
// Waits for a child of fork_in_root: its exit status (125 when it died on a signal).
int wait_child(pid_t pid);

} // namespace koker::container_root
