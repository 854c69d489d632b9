// SPDX-License-Identifier: MIT
#include "build/workspace.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/create.hpp"
#include "runtime/rootfs.hpp"
#include <fcntl.h>
#include <sys/stat.h>

namespace koker::build_workspace {

Workspace::Workspace(const store::Store &store, const store::ImageRecord &img) : m_store(store) {
  m_dir = store.make_tmp_dir();
  sys::Rollback undo;
  undo.add("rm -rf " + m_dir, [this] { sys::rm_rf(m_dir); });
  for (const char *d : {"upper", "work", "merged"})
    check(::mkdir(cat(m_dir, "/", d).c_str(), 0755), "unable to create ", m_dir, "/", d);
  std::string root = m_dir + "/upper";
  if (!img.layers.empty()) {
    rootfs::Overlay o;
    o.mount_point = m_merged = m_dir + "/merged";
    o.layers_dir = store.root() + "/layers";
    o.lower = create::lower_layers(store, img);
    // Not the shared init layer: its /etc would be copied up in place of the image's own.
    if (!o.lower.empty() && o.lower.front() == "../init")
      o.lower.erase(o.lower.begin());
    o.upper = m_dir + "/upper";
    o.work = m_dir + "/work";
    rootfs::mount_overlay(o);
    m_mounted = true;
    root = m_merged;
  }
  m_root_path = root;
  m_root.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!m_root)
    sys_fail("unable to open ", root);
  undo.dismiss();
}

Workspace::~Workspace() {
  try {
    m_root.reset();
    if (m_mounted)
      sys::unmount(m_merged);
    sys::rm_rf(m_dir);
  } catch (const std::exception &e) {
    log::warn(e.what());
  }
}

commit::Layer Workspace::store_layer(std::optional<int64_t> clamp_mtime) {
  m_root.reset();
  if (m_mounted) {
    sys::unmount(m_merged);
    m_mounted = false;
  }
  archive::UpperOptions o;
  o.clamp_mtime = clamp_mtime;
  return commit::store_layer(m_store, m_dir + "/upper", o);
}

} // namespace koker::build_workspace
