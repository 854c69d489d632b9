// SPDX-License-Identifier: MIT
// koker-run: create and start a container from a stored image.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "image/image.hpp"
#include "image/resolve.hpp"
#include "net/attach.hpp"
#include "net/net.hpp"
#include "run_options.hpp"
#include "runtime/create.hpp"
#include "runtime/launch.hpp"
#include "runtime/supervisor.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

namespace {

// containers/<id>, holding a claim on the image until the record is saved, with the
// overlay's upper/ and work/, and bundle/rootfs/ to mount it on; removed again by undo.
std::string make_container_dir(const store::Store &store, const container::Record &rec,
                               sys::Rollback &undo) {
  std::string dir = store.create_container_dir(rec.id, rec.image_id);
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  log::debug("mkdir ", dir, "/{upper,work,bundle,bundle/rootfs}");
  for (const char *sub : {"/upper", "/work", "/bundle", "/bundle/rootfs"})
    check(::mkdir((dir + sub).c_str(), 0755), "unable to create ", dir, sub);
  return dir;
}

// The rest of the set-up, once the child exists (its network needs its PID), done while it
// mounts its root: the bundle's config.json, the name, the record, the address (and
// /etc/hosts, which names it), the cidfile.
void after_clone(const std::string &root, const create::Options &o, const create::Bundle &b,
                 container::Record &rec, sys::Rollback &undo, pid_t pid) {
  create::write_config(b);
  if (rec.name.empty())
    rec.name = container::claim_generated_name(root, rec.id);
  else
    container::claim_name(root, rec.name, rec.id);
  undo.add("release the name " + rec.name,
           [root, name = rec.name] { container::release_name(root, name); });
  launch::set_running(rec, pid);
  container::reserve_exit_file(root, rec.id);
  container::save(root, rec);
  // The record now holds the image for the container: the claim has done its job.
  ::unlink((container::dir_of(root, rec.id) + "/creating").c_str());
  if (o.network == "bridge") {
    rec.ip_address = net::attach_with_tool(rec, pid);
    undo.add("release " + rec.ip_address, [root, &rec] { net::release_container(root, rec); });
    create::write_hosts(container::dir_of(root, rec.id), rec);
  }
  if (!o.cidfile.empty()) {
    Fd cid(::open(o.cidfile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!cid)
      sys_fail("unable to create the cidfile ", o.cidfile);
    sys::write_fd(cid.get(), rec.id, o.cidfile);
  }
}

int run_main(int argc, char **argv) {
  // A child that failed closes its pipes early: writing to them must not kill koker-run.
  ::signal(SIGPIPE, SIG_IGN);
  create::Options o = run::parse(argc, argv);
  store::Store store(store_root());
  store::ImageRecord img = image::find_or_pull(store, o.image, o.pull, o.platform);
  auto config_body = store.read_blob(img.id, image::max_config_size);
  if (!config_body)
    fail("unable to read the config of image ", img.id);
  image::Config cfg = image::parse_config(*config_body);
  create::warn_if_foreign(cfg);

  container::Record rec = create::make_record(o, img, cfg);
  const std::string root = store.root();
  sys::Rollback undo;
  std::string dir = make_container_dir(store, rec, undo);
  create::Bundle b = create::make_bundle(o, rec, store, img, dir, undo);
  const launch::Container &c = b.container;
  launch::Request req;
  req.cgroup = rec.id;
  req.limits = o.limits;
  req.after_clone = [&](pid_t pid) { after_clone(root, o, b, rec, undo, pid); };
  req.relay_signals = true;
  if (o.detach) {
    supervisor::start_detached(root, rec, c, req, undo);
    out::line(rec.id);
    return 0;
  }
  launch::Started s = launch::start(c, req, undo);
  undo.dismiss();
  int rc = launch::finish(root, rec, s, o.interactive);
  return rc;
}

} // namespace

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-run", run::USAGE, run_main); }
