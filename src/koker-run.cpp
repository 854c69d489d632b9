// SPDX-License-Identifier: MIT
// koker-run: create and start a container from a stored image.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "image/image.hpp"
#include "run_options.hpp"
#include "runtime/create.hpp"
#include "runtime/launch.hpp"
#include "runtime/start.hpp"
#include "runtime/supervisor.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

namespace {

// The rest of the set-up, once the child exists, done while it mounts its root: the name,
// the record, the bundle's config.json, the cidfile. On a bridge, koker-net is plugging the
// network namespace made ahead meanwhile, and the record is saved once it has, with the
// addresses (start::start_network, in before_go, after the cgroups).
void after_clone(const std::string &root, const create::Options &o, const create::Bundle &b,
                 container::Record &rec, sys::Rollback &undo, pid_t pid) {
  create::claim_name(root, rec, undo);
  launch::set_running(rec, pid);
  container::reserve_exit_file(root, rec.id);
  start::network_cloned();
  if (!start::network_saves_record())
    create::commit_record(root, rec);
  create::write_config(b);
  if (!o.cidfile.empty())
    create::write_cidfile(o.cidfile, rec.id);
}

int run_main(int argc, char **argv) {
  // A child that failed closes its pipes early: writing to them must not kill koker-run.
  ::signal(SIGPIPE, SIG_IGN);
  create::Options o = run::parse(argc, argv);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  // The network namespace and koker-net, made and started while the container is built.
  start::prepare_network(o.network);
  store::Store store(store_root());
  create::Source src = create::resolve_image(o, store);
  const store::ImageRecord &img = src.image;
  container::Record rec = create::make_record(o, img, src.config);
  const std::string root = store.root();
  sys::Rollback undo;
  std::string dir = create::make_dir(store, rec, undo);
  Fd mounted = create::mount_root(store, rec, undo); // rootless only: root's init mounts it
  create::Bundle b = create::make_bundle(o, rec, store, img, dir, mounted.get(), undo);
  // One thread again before the forks and clones to come; the network namespace made, and on
  // a bridge koker-net at work in it.
  int net_namespace = start::plug_network(rec);
  create::write_etc_files(dir, rec, true);
  const launch::Container &c = b.container;
  launch::Request req;
  req.cgroup = rec.id;
  req.limits = o.limits;
  req.after_clone = [&](pid_t pid) { after_clone(root, o, b, rec, undo, pid); };
  // the address (and /etc/hosts, which names it), once the cgroups are made
  req.before_go = [&](pid_t pid) { start::start_network(root, rec, undo, pid); };
  req.net_namespace = net_namespace;
  req.relay_signals = true;
  if (o.detach) {
    supervisor::start_detached(root, rec, c, req, undo);
    out::line(rec.id);
    return 0;
  }
  return supervisor::foreground(root, rec, c, req, undo, o.interactive);
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-run", run::USAGE, run_main); }
