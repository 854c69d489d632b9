// SPDX-License-Identifier: MIT
#pragma once
#include "base/sys.hpp"
#include "runtime/launch.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <optional>
#include <string>
#include <sys/types.h>

// Starting a created or stopped container again (koker-start, koker-restart, the restarts of a
// restart policy): the start-time part of koker-run. Its root is mounted again on its bundle
// (the writable layer kept: the files are as the container left them), its /etc files written,
// and its bundle's config.json run through the one engine, with a fresh process, cgroup and
// address.
namespace koker::start {

// What each start does once the container's process exists: the record says running (the
// pid, its supervisor, the time), the exit file blank, the address given and named in
// /etc/hosts. Throws when the user stopped the container meanwhile (a restart then has no
// business running it).
void on_clone(const std::string &root, container::Record &rec, sys::Rollback &undo, pid_t pid);

// The container's network once its first process pid exists, for koker-run and on_clone: the
// bridge's veth, address and port rules (koker-net attach), or for --network slirp4netns or
// pasta a helper (net/usermode.hpp) this process keeps until stop_network(); the address
// named in /etc/hosts. Undo steps go to undo. Nothing for none and host. With koker-net
// started ahead (koker-run), it saves the record, with the addresses, then gives the PID.
void start_network(const std::string &root, container::Record &rec, sys::Rollback &undo, pid_t pid);
// As root, for a network namespace of the container's own (not host, not a user-mode
// network): starts making it now, on a thread (net::NamespaceAhead), and for the default
// bridge and user-defined networks koker-net attach --ahead (net::Attacher), before the
// container or its record exists, so that both overlap the caller's set-up. Unused, they end
// at this process's exit, having left nothing.
void prepare_network(const std::string &mode);
// The namespace made ahead, for launch::Request::net_namespace, or -1; on a bridge koker-net
// gets the record and the namespace and plugs it now. Waits for both threads: before the
// caller forks or clones.
int plug_network(const container::Record &rec);
// Once the container is cloned (it has its own copy): closes this process's descriptor of the
// namespace, unless koker-net still opens it by it (start_network closes it then).
void network_cloned();
// Whether koker-net was started ahead: then start_network saves the record (its first save,
// with the addresses).
bool network_saves_record();
// Stops the user-mode helper start_network() started in this process, if any: once the
// container exited (runtime/supervisor.cpp), before it may start again. One container a
// process (koker-run, or its -d supervisor), so one helper.
void stop_network();

// The cgroup and limits rec's record keeps, for launch::start.
launch::Request request(const container::Record &rec);

// Starts the container rec names (created or exited): detached (its supervisor carries out
// its restart policy), or attached, its output relayed here (and stdin with interactive) and
// its exit code returned. A container that runs is left as it is, as docker does (nullopt,
// as for a detached start). With attacher, a detached start of a -i or -t container connects
// there to its attach socket before the container runs (runtime/supervisor.hpp).
std::optional<int> run(const store::Store &store, const container::Record &rec, bool attach,
                       bool interactive, Fd *attacher = nullptr);

} // namespace koker::start
