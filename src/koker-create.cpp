// SPDX-License-Identifier: MIT
// koker-create: a container from a stored image, made as koker-run makes it, not started.
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "image/image.hpp"
#include "run_options.hpp"
#include "runtime/create.hpp"
#include "runtime/mounts.hpp"
#include "store/container.hpp"
#include "store/store.hpp"

using namespace koker;

namespace {

int create_main(int argc, char **argv) {
  create::Options o = run::parse(argc, argv, run::Tool::create);
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  create::Source src = create::resolve_image(o, store);
  const store::ImageRecord &img = src.image;
  container::Record rec = create::make_record(o, img, src.config);
  // docker create -i attaches stdin at start (-ai): its end ends the container's (StdinOnce)
  rec.stdin_once = rec.open_stdin;
  const std::string root = store.root();
  sys::Rollback undo;
  std::string dir = create::make_dir(store, rec, undo);
  // The root is read only while the config is built (the user looked up in the image's own
  // /etc files, volumes filled from it), in a child's mount namespace or, rootless, in koker's
  // own: a created container holds nothing mounted, and a kill -9 at any point leaves nothing
  // mounted on the host. koker-start's init mounts it.
  {
    sys::Rollback mounted;
    Fd root_fd = create::mount_root(store, rec, mounted); // rootless only
    create::Bundle b = create::make_bundle(o, rec, store, img, dir, root_fd.get(), mounted);
    create::write_config(b);
  }
  create::claim_name(root, rec, undo);
  rec.status = "created";
  create::commit_record(root, rec);
  if (!o.cidfile.empty())
    create::write_cidfile(o.cidfile, rec.id);
  undo.dismiss();
  out::line(rec.id);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-create", run::CREATE_USAGE, create_main);
}
