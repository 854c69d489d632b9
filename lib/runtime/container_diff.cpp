// SPDX-License-Identifier: MIT
#include "runtime/container_diff.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/freeze.hpp"
#include "runtime/layer_stack.hpp"
#include "runtime/run_spec.hpp"
#include <algorithm>
#include <sys/stat.h>

namespace koker::container_diff {

std::vector<std::string> runtime_artefacts(const store::Store &store,
                                           const store::ImageRecord &img,
                                           const std::string &upper) {
  std::vector<std::string> dirs; // the image's own layers: not the init layer koker adds
  for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it)
    dirs.push_back(store.layer_dir(*it) + "/diff");
  layer_stack::Stack image(dirs);
  const std::vector<std::string> made = {"dev",
                                         "proc",
                                         "sys",
                                         "etc/hosts",
                                         "etc/hostname",
                                         "etc/resolv.conf",
                                         std::string(run_spec::INIT_IN_CONTAINER).substr(1)};
  std::vector<std::string> skip;
  for (const auto &rel : made) {
    struct stat st;
    if (::lstat(cat(upper, "/", rel).c_str(), &st) == 0 && !image.shows(rel))
      skip.push_back(rel);
  }
  for (const char *dir : {"etc", "sbin"}) {
    struct stat st;
    if (image.shows(dir) || ::lstat(cat(upper, "/", dir).c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode))
      continue;
    bool only_ours = true;
    for (const auto &n : sys::list_dir(cat(upper, "/", dir)))
      only_ours = only_ours && std::find(skip.begin(), skip.end(), cat(dir, "/", n)) != skip.end();
    if (only_ours)
      skip.push_back(dir);
  }
  return skip;
}

commit::Layer store(const store::Store &store, const container::Record &rec,
                    const store::ImageRecord &img, std::optional<int64_t> clamp_mtime,
                    bool pause) {
  std::string upper = container::dir_of(store.root(), rec.id) + "/upper";
  archive::UpperOptions pack;
  pack.skip = runtime_artefacts(store, img, upper);
  pack.clamp_mtime = clamp_mtime;
  std::optional<freeze::Guard> frozen;
  if (pause)
    frozen.emplace(store.root(), rec);
  return commit::store_layer(store, upper, pack);
} // thawed here, or by the guard's watchdog should we be killed

} // namespace koker::container_diff
