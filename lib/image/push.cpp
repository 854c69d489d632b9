// SPDX-License-Identifier: MIT
#include "image/push.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/parallel.hpp"
#include "base/progress.hpp"
#include "image/image.hpp"
#include "image/registry.hpp"
#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>

namespace koker::push {
namespace {

// Blobs sent at once: as pull fetches them (skopeo sends up to 6).
constexpr size_t max_parallel_blobs = 4;

// One blob to send: a layer or the config.
struct Blob {
  size_t index;
  std::string digest;
  uint64_t size;
  std::string path;  // where the store keeps it
  std::string mount; // a repository of the same registry holding it, or ""
};

// The repositories of target's registry, other than target's, that the store's images came
// from, by blob digest: the sources of cross-repository mounts (docker's
// V2MetadataService does the same from its records).
std::map<std::string, std::string> mount_sources(const store::Store &store,
                                                 const registry::Reference &target) {
  std::map<std::string, std::string> from;
  for (const auto &img : store.images()) {
    std::vector<std::string> names = img.repo_digests;
    names.insert(names.end(), img.repo_tags.begin(), img.repo_tags.end());
    for (const auto &n : names) {
      registry::Reference r;
      try {
        r = registry::parse_reference(n);
      } catch (const Error &) {
        continue;
      }
      if (r.registry != target.registry || r.repository == target.repository)
        continue;
      from.emplace(img.id, r.repository);
      for (const auto &b : img.layer_blobs)
        from.emplace(b, r.repository);
    }
  }
  return from;
}

uint64_t file_size(const std::string &path) {
  struct stat st;
  check(::stat(path.c_str(), &st), "unable to read ", path);
  return static_cast<uint64_t>(st.st_size);
}

// The blob of layer diff_id compressed as kind: cached in the store, or made now from the
// stored blob src and cached.
image::Descriptor recompressed(const store::Store &store, const std::string &diff_id,
                               const image::Descriptor &src, compress::Kind kind) {
  const char *k = compress::name(kind);
  auto lock = store.lock_layer(diff_id);
  std::optional<std::string> d = store.recompressed_blob(diff_id, k);
  if (!d) {
    std::string tmp = store.make_tmp_dir();
    sys::Rollback undo;
    undo.add(cat("rm -rf ", tmp), [tmp] { sys::rm_rf(tmp); });
    Fd in(check(::open(store.blob_path(src.digest).c_str(), O_RDONLY | O_CLOEXEC),
                "unable to open ", store.blob_path(src.digest)));
    Fd out(check(::open((tmp + "/blob").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                 "unable to create ", tmp, "/blob"));
    log::debug("recompress ", src.digest, " as ", k, " into ", tmp, "/blob");
    auto r = compress::recompress(in.get(), out.get(), kind, cat("layer ", src.digest));
    check(::fsync(out.get()), "unable to write ", tmp, "/blob");
    out.reset();
    store.commit_blob(tmp + "/blob", r.digest);
    store.set_recompressed_blob(diff_id, k, r.digest);
    d = r.digest;
  }
  image::Descriptor out;
  out.digest = *d;
  out.size = file_size(store.blob_path(*d));
  return out;
}

// The manifest with each layer compressed as kind. zstd needs the OCI types (Docker v2s2
// has none), so a Docker manifest becomes an OCI one; the config stays byte for byte.
std::string rewrite_manifest(const std::string &body, std::string &media_type, bool oci,
                             const std::vector<image::Descriptor> &layers) {
  json::Value doc = json::parse(body, "stored manifest");
  // Always said: registries and clients tell the types apart by it (CVE-2021-41190).
  if (oci)
    doc.set("mediaType", image::media::oci_manifest);
  if (oci && media_type != image::media::oci_manifest) {
    media_type = std::string(image::media::oci_manifest);
    if (const json::Value *c = doc.find("config")) {
      json::Value config = *c;
      config.set("mediaType", image::media::oci_config);
      doc.set("config", config);
    }
  }
  const json::Value *old = doc.find("layers");
  json::Value out = json::Value::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    json::Value l = old->items().at(i);
    l.set("mediaType", layers[i].media_type);
    l.set("digest", layers[i].digest);
    l.set("size", layers[i].size);
    out.push(l);
  }
  doc.set("layers", out);
  return doc.dump(3);
}

// Sends one blob: HEAD, else mount, else upload.
void send_blob(registry::Session &session, const Blob &b, Progress &progress) {
  std::string label = b.digest.substr(7, 12);
  if (session.has_blob(b.digest)) {
    progress.finish(b.index, label, "Layer already exists");
    return;
  }
  std::string location;
  if (!b.mount.empty()) {
    registry::Mount m = session.mount_blob(b.digest, b.mount);
    if (m.mounted) {
      progress.finish(b.index, label, "Mounted from " + b.mount);
      return;
    }
    log::debug("mount of ", b.digest, " from ", b.mount, " refused (202): uploading it");
    location = m.location;
  }
  progress.start(b.index, label, b.size);
  Fd fd(check(::open(b.path.c_str(), O_RDONLY | O_CLOEXEC), "unable to open ", b.path));
  uint64_t last = 0;
  session.put_blob(b.digest, fd.get(), b.size, location, [&](uint64_t sent) {
    if (sent < last) // a retry starts again
      last = 0;
    progress.advance(b.index, sent - last);
    last = sent;
  });
  progress.finish(b.index, label, "Pushed");
}

void send_blobs(registry::Session &session, const std::vector<Blob> &blobs, Progress &progress) {
  parallel::for_each(
      blobs.size(), max_parallel_blobs,
      [&](size_t i, const std::atomic<bool> &) { send_blob(session, blobs[i], progress); },
      [&](size_t i) {
        progress.finish(blobs[i].index, blobs[i].digest.substr(7, 12), "failed");
      });
}

} // namespace

Pushed push_image(const store::Store &store, const store::ImageRecord &rec,
                  const registry::Reference &target, std::optional<compress::Kind> compression,
                  std::string_view shown) {
  const char *pull_again = "; pull it again";
  if (!digest::is_valid(rec.manifest_digest) ||
      (!rec.layers.empty() && rec.layer_blobs.size() != rec.layers.size()))
    fail("image ", shown, " has no layer blobs in the store (pulled by an older koker)",
         pull_again);
  auto body = store.read_blob(rec.manifest_digest, image::max_manifest_size);
  if (!body)
    fail("image ", shown, " has lost its manifest ", rec.manifest_digest, pull_again);
  std::string media_type = rec.manifest_media_type;
  image::Manifest m = image::parse_manifest(*body, media_type);
  if (m.layers.size() != rec.layers.size() || m.config.digest != rec.id)
    fail("image ", shown, ": its stored manifest does not match its record", pull_again);
  for (const auto &l : m.layers)
    if (!store.has_blob(l.digest))
      fail("image ", shown, " lacks layer blob ", l.digest, " in the store", pull_again);

  // --compression: the layers compressed otherwise get a cached recompressed blob, and the
  // manifest is rewritten for them (as OCI for zstd); without it, sent as stored, except
  // plain tar layers (koker-commit stores its layer uncompressed, as docker and podman do),
  // which are gzipped once, as docker and podman push them.
  if (!compression && std::any_of(m.layers.begin(), m.layers.end(), [](const auto &l) {
        return compress::of_media_type(l.media_type) == compress::Kind::none;
      })) {
    log::debug("image ", shown, " has uncompressed layers: they are sent gzipped");
    compression = compress::Kind::gzip;
  }
  bool rewritten = false;
  if (compression) {
    bool oci = *compression == compress::Kind::zstd || media_type == image::media::oci_manifest;
    bool changed = oci && media_type != image::media::oci_manifest;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      image::Descriptor &l = m.layers[i];
      compress::Kind kind = compress::of_media_type(l.media_type);
      if (kind != *compression) {
        image::Descriptor r = recompressed(store, rec.layers[i], l, *compression);
        l.digest = r.digest;
        l.size = r.size;
        kind = *compression;
        changed = true;
      }
      l.media_type = compress::layer_media_type(kind, oci);
    }
    if (changed) {
      *body = rewrite_manifest(*body, media_type, oci, m.layers);
      rewritten = true;
    }
  }

  std::map<std::string, std::string> sources = mount_sources(store, target);
  std::vector<Blob> layers;
  registry::Access access{true, {}};
  auto add = [&](std::vector<Blob> &to, const std::string &dg, uint64_t size) {
    Blob b{to.size(), dg, size, store.blob_path(dg), ""};
    if (auto it = sources.find(dg); it != sources.end()) {
      b.mount = it->second;
      if (std::find(access.mount_from.begin(), access.mount_from.end(), b.mount) ==
          access.mount_from.end())
        access.mount_from.push_back(b.mount);
    }
    to.push_back(b);
  };
  for (const auto &l : m.layers)
    add(layers, l.digest, l.size);
  std::vector<Blob> config;
  add(config, m.config.digest, m.config.size);

  log::debug("push ", shown, " to ", target.canonical(), ": manifest ",
             rewritten ? "rewritten" : rec.manifest_digest, ", ", layers.size(), " layers",
             access.mount_from.empty()
                 ? ""
                 : cat(", mounts from ", access.mount_from.size(), " repositories"));
  registry::Session session(target, access);
  {
    Progress progress(layers.size(), true);
    send_blobs(session, layers, progress);
  }
  {
    Progress progress(1, true);
    send_blobs(session, config, progress);
  }
  Pushed p;
  p.digest = session.put_manifest(target.tag, *body, media_type);
  p.size = body->size();
  return p;
}

} // namespace koker::push
