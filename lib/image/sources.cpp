// SPDX-License-Identifier: MIT
#include "image/sources.hpp"
#include "image/archive.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "image/registry.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <fcntl.h>
#include <linux/openat2.h>
#include <map>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::sources {

namespace {

// Opens rel below the directory root and never outside it: openat2 refuses "..", absolute
// paths and every symlink, so an archive cannot make koker read a host file into an image.
Fd open_beneath(const std::string &root, const std::string &rel) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir)
    sys_fail("unable to open ", root);
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how);
  if (fd < 0 && errno == EXDEV) // openat2(2): the path would leave root
    fail("unable to open ", printable(rel), " in ", root, ": the path leads outside it");
  if (fd < 0 && errno == ELOOP)
    fail("unable to open ", printable(rel), " in ", root, ": the path holds a symbolic link");
  if (fd < 0)
    sys_fail("unable to open ", printable(rel), " in ", root);
  return Fd(static_cast<int>(fd));
}

// Blobs read from local files, each checked against its descriptor while it streams.
class FileSource : public ingest::Source {
public:
  explicit FileSource(std::string root) : m_root(std::move(root)) {}
  // Names the file holding digest, under root (default: the source's own); by default
  // blobs/sha256/<hex> (OCI layout).
  void add(const std::string &digest, const std::string &rel, const std::string &root = "") {
    m_files[digest] = {root.empty() ? m_root : root, rel};
  }

  void stream_blob(const image::Descriptor &d, const ingest::Sink &sink) override {
    auto it = m_files.find(d.digest);
    auto [root, rel] = it != m_files.end()
                           ? it->second
                           : std::pair{m_root, "blobs/sha256/" + digest::hex_of(d.digest)};
    log::debug("read ", root, "/", rel);
    Fd fd = open_beneath(root, rel);
    digest::Sha256 hash;
    uint64_t total = 0;
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        sys_fail("unable to read ", root, "/", rel);
      if (n == 0)
        break;
      total += static_cast<uint64_t>(n);
      if (total > d.size)
        fail("unable to read blob ", d.digest, ": larger than the ", d.size,
             " bytes its descriptor says");
      hash.update(buf.data(), static_cast<size_t>(n));
      sink(buf.data(), static_cast<size_t>(n));
    }
    if (total != d.size)
      fail("unable to read blob ", d.digest, ": ", total, " bytes, not ", d.size);
    if (hash.finish() != d.digest)
      fail("unable to read blob ", d.digest, ": digest mismatch");
  }

  std::string small_blob(const image::Descriptor &d, size_t max) override {
    if (d.size > max)
      fail("unable to read blob ", d.digest, ": ", d.size, " bytes is over the limit");
    std::string data;
    stream_blob(d, [&](const char *p, size_t n) { data.append(p, n); });
    return data;
  }

private:
  std::string m_root;
  std::map<std::string, std::pair<std::string, std::string>> m_files; // digest: root, rel
};

class RegistrySource : public ingest::Source {
public:
  explicit RegistrySource(const registry::Reference &ref) : m_session(ref) {}
  registry::Session &session() { return m_session; }
  void stream_blob(const image::Descriptor &d, const ingest::Sink &sink) override {
    m_session.get_blob(d.digest, d.size, sink);
  }
  std::string small_blob(const image::Descriptor &d, size_t max) override {
    return m_session.get_small_blob(d.digest, d.size, max);
  }

private:
  registry::Session m_session;
};

std::string media_type_of_file(const std::string &root, const std::string &rel) {
  Fd fd = open_beneath(root, rel);
  unsigned char magic[4] = {};
  ssize_t n = ::read(fd.get(), magic, sizeof magic);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return std::string(image::media::oci_layer_tar);
}

// sha256 and size of what fd holds, read to its end.
image::Descriptor hash_fd(int fd, std::string_view shown) {
  digest::Sha256 hash;
  std::string buf(1 << 20, '\0');
  uint64_t total = 0;
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sys_fail("unable to read ", shown);
    hash.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  image::Descriptor d;
  d.digest = hash.finish();
  d.size = total;
  return d;
}

// Describes a local file (read through open_beneath) as a layer or config blob.
image::Descriptor describe_file(const std::string &root, const std::string &rel) {
  Fd fd = open_beneath(root, rel);
  struct stat st;
  check(::fstat(fd.get(), &st), "unable to stat ", rel);
  if (!S_ISREG(st.st_mode))
    fail("unable to read ", printable(rel), ": not a regular file");
  image::Descriptor d = hash_fd(fd.get(), rel);
  d.media_type = media_type_of_file(root, rel);
  return d;
}

json::Value descriptor_json(const image::Descriptor &d) {
  json::Value v = json::Value::object();
  v.set("mediaType", d.media_type);
  v.set("digest", d.digest);
  v.set("size", json::Value(d.size));
  return v;
}

// An OCI manifest for a config and layers koker describes itself (archives, imports).
ingest::Manifest make_manifest(const image::Descriptor &config,
                               const std::vector<image::Descriptor> &layers) {
  json::Value m = json::Value::object();
  m.set("schemaVersion", 2);
  m.set("mediaType", image::media::oci_manifest);
  m.set("config", descriptor_json(config));
  json::Value &list = m.set("layers", json::Value::array());
  for (const auto &l : layers)
    list.push(descriptor_json(l));
  ingest::Manifest out;
  out.body = m.dump();
  out.media_type = image::media::oci_manifest;
  out.digest = digest::sha256(out.body);
  return out;
}

} // namespace

std::pair<std::string, std::string> split_path_tag(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find('/', colon) != std::string_view::npos)
    return {std::string(text), ""};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

std::string normalise_tag(std::string_view name) {
  registry::Reference ref = registry::parse_reference(name);
  if (!ref.digest.empty())
    fail("invalid tag ", printable(name), ": a tag cannot hold a digest");
  return ref.tagged();
}

Resolved from_registry(std::string_view text, const image::Platform &platform) {
  registry::Reference ref = registry::parse_reference(text);
  auto source = std::make_unique<RegistrySource>(ref);
  registry::Fetched top =
      source->session().get_manifest(ref.digest.empty() ? ref.tag : ref.digest);
  Resolved r;
  r.manifest = {top.body, top.media_type, top.digest};
  if (image::is_index(top.media_type)) {
    auto entries = image::parse_index(top.body, top.media_type);
    const image::Descriptor &pick = image::select_platform(entries, platform);
    log::debug("index ", top.digest, ": ", platform.str(), " is ", pick.digest);
    registry::Fetched m = source->session().get_manifest(pick.digest);
    if (!image::is_manifest(m.media_type))
      fail("unable to pull ", ref.canonical(), ": the index entry for ", platform.str(),
           " is not an image manifest");
    r.manifest = {m.body, m.media_type, m.digest};
  }
  if (ref.digest.empty())
    r.names.repo_tags.push_back(ref.tagged());
  r.names.repo_digests.push_back(cat(ref.name(), "@", top.digest));
  r.source = std::move(source);
  return r;
}

namespace {

// The image an OCI layout's index entry names: its manifest, or, for a nested index,
// platform's entry of it.
Resolved oci_entry(const std::string &dir, image::Descriptor chosen,
                   const image::Platform &platform) {
  auto source = std::make_unique<FileSource>(dir);
  if (image::is_index(chosen.media_type)) {
    std::string nested = source->small_blob(chosen, image::max_manifest_size);
    auto list = image::parse_index(nested, chosen.media_type);
    chosen = image::select_platform(list, platform);
  }
  if (!image::is_manifest(chosen.media_type))
    fail("unsupported manifest type ", printable(chosen.media_type), " in ", dir);
  Resolved r;
  r.manifest.body = source->small_blob(chosen, image::max_manifest_size);
  r.manifest.media_type = chosen.media_type;
  r.manifest.digest = chosen.digest;
  r.source = std::move(source);
  return r;
}

std::vector<image::Descriptor> read_oci_index(const std::string &dir) {
  std::string index_body = sys::read_fd(open_beneath(dir, "index.json").get(),
                                        image::max_manifest_size, dir + "/index.json");
  return image::parse_index(index_body, image::media::oci_index);
}

json::Value read_docker_manifest(const std::string &dir) {
  std::string text = sys::read_fd(open_beneath(dir, "manifest.json").get(),
                                  image::max_manifest_size, dir + "/manifest.json");
  json::Value doc = json::parse(text, "manifest.json of the docker archive");
  if (!doc.is_array() || doc.items().empty())
    fail("invalid docker archive: manifest.json lists no image");
  for (const auto &entry : doc.items())
    if (!entry.is_object())
      fail("invalid docker archive: an entry of manifest.json is not an object");
  return doc;
}

// A file of a docker archive; one named blobs/sha256/<hex> (Docker 25's layout) must hold
// what its name says.
image::Descriptor describe_archive_file(const std::string &dir, const std::string &rel) {
  image::Descriptor d = describe_file(dir, rel);
  constexpr std::string_view blobs = "blobs/sha256/";
  if (text::starts_with(rel, blobs) && d.digest != cat("sha256:", rel.substr(blobs.size())))
    fail("unable to read blob ", printable(rel), ": digest mismatch (its content is ", d.digest,
         ")");
  return d;
}

std::vector<std::string> repo_tags_of(const json::Value &entry) {
  std::vector<std::string> tags;
  if (const json::Value *list = entry.find("RepoTags"); list && list->is_array())
    for (const auto &t : list->items())
      tags.push_back(normalise_tag(t.as_string()));
  return tags;
}

// One image of a docker archive's manifest.json: its config and layer files (Layers may name
// the legacy <id>/layer.tar, <diffid>.tar or blobs/sha256/<hex>) under an OCI manifest koker
// writes for them.
Resolved docker_entry(const std::string &dir, const json::Value &entry) {
  auto source = std::make_unique<FileSource>(dir);
  std::string config_rel = entry.get_string("Config");
  image::Descriptor config = describe_archive_file(dir, config_rel);
  config.media_type = image::media::oci_config;
  source->add(config.digest, config_rel);
  std::vector<image::Descriptor> layers;
  const json::Value *list = entry.find("Layers");
  if (!list || !list->is_array())
    fail("invalid docker archive: no Layers in manifest.json");
  for (const auto &l : list->items()) {
    image::Descriptor d = describe_archive_file(dir, l.as_string());
    source->add(d.digest, l.as_string());
    layers.push_back(d);
  }
  Resolved r;
  r.manifest = make_manifest(config, layers);
  r.names.repo_tags = repo_tags_of(entry);
  r.source = std::move(source);
  return r;
}

void add_name(std::vector<std::string> &names, const std::string &name) {
  if (std::find(names.begin(), names.end(), name) == names.end())
    names.push_back(name);
}

// The name an OCI index entry gives its image: docker's io.containerd.image.name, else a
// ref.name that is a whole NAME:TAG (a bare tag such as "latest" names no repository);
// nothing for a digest reference.
std::string entry_name(const image::Descriptor &d) {
  std::string_view text = d.image_name;
  if (text.empty() && d.ref_name.find(':') != std::string::npos)
    text = d.ref_name;
  if (text.empty())
    return "";
  registry::Reference ref = registry::parse_reference(text);
  return ref.digest.empty() ? ref.tagged() : "";
}

} // namespace

Resolved from_oci_layout(const std::string &dir, std::string_view tag,
                         const image::Platform &platform) {
  auto entries = read_oci_index(dir);
  const image::Descriptor *pick = nullptr;
  for (const auto &e : entries)
    if (e.ref_name == (tag.empty() ? "latest" : tag))
      pick = &e;
  if (!pick && tag.empty() && entries.size() == 1)
    pick = &entries[0];
  if (!pick)
    fail("unable to find ", tag.empty() ? "an image" : cat("tag ", printable(tag)), " in ",
         dir, "/index.json");
  return oci_entry(dir, *pick, platform);
}

Resolved from_docker_save(const std::string &dir) {
  json::Value doc = read_docker_manifest(dir);
  if (doc.items().size() > 1)
    log::warn("the docker archive holds ", doc.items().size(), " images; loading the first");
  return docker_entry(dir, doc.items()[0]);
}

std::vector<Resolved> from_archive(const std::string &dir, const image::Platform &platform) {
  std::vector<Resolved> out;
  bool has_index = sys::exists(dir + "/index.json");
  bool has_docker = sys::exists(dir + "/manifest.json");
  if (!has_index && !has_docker)
    fail("invalid image archive: it holds neither index.json nor manifest.json");
  if (!has_index) {
    json::Value doc = read_docker_manifest(dir);
    for (const auto &entry : doc.items())
      out.push_back(docker_entry(dir, entry));
    return out;
  }
  // One image per manifest digest, however many tags name it (Docker 25 writes one entry per
  // tag), in the index's order.
  std::vector<std::pair<image::Descriptor, std::vector<std::string>>> images;
  for (const auto &e : read_oci_index(dir)) {
    auto it = std::find_if(images.begin(), images.end(),
                           [&](const auto &i) { return i.first.digest == e.digest; });
    if (it == images.end())
      it = images.insert(images.end(), {e, {}});
    if (std::string name = entry_name(e); !name.empty())
      add_name(it->second, name);
  }
  // The hybrid's manifest.json may name what index.json does not: its RepoTags go to the
  // image of the same config.
  std::map<std::string, std::vector<std::string>> tags_by_config;
  if (has_docker) {
    json::Value doc = read_docker_manifest(dir);
    for (const auto &entry : doc.items()) {
      std::string config = describe_archive_file(dir, entry.get_string("Config")).digest;
      for (const auto &t : repo_tags_of(entry))
        add_name(tags_by_config[config], t);
    }
  }
  for (auto &[desc, names] : images) {
    Resolved r = oci_entry(dir, desc, platform);
    std::string config =
        image::parse_manifest(r.manifest.body, r.manifest.media_type).config.digest;
    for (const auto &t : tags_by_config[config])
      add_name(names, t);
    r.names.repo_tags = names;
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// A directory packed into tmp/layer.tar; ingest then unpacks it into the store like any other
// layer. Returns the diff_id.
std::string pack_tree(const std::string &path, const std::string &tmp, FileSource &source,
                      image::Descriptor &layer) {
  std::string tar = tmp + "/layer.tar";
  Fd out(::open(tar.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out)
    sys_fail("unable to create ", tar);
  log::debug("pack ", path, " into ", tar);
  std::string diff_id = archive::pack_dir(path, out.get()).diff_id;
  out.reset();
  layer = describe_file(tmp, "layer.tar");
  source.add(layer.digest, "layer.tar");
  return diff_id;
}

// A rootfs tarball is the layer itself: unpacked straight into the store to learn its
// diff_id, so ingest finds the layer there and reads the file again only to keep it as the
// layer's blob.
std::string unpack_tarball(const store::Store &store, const std::string &path, FileSource &source,
                           image::Descriptor &layer) {
  std::string dir = store.make_tmp_dir();
  sys::Rollback undo;
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  check(::mkdir((dir + "/diff").c_str(), 0755), "unable to create ", dir, "/diff");
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in)
    sys_fail("unable to open ", path);
  log::debug("unpack ", path, " into ", dir, "/diff");
  archive::LayerInfo info =
      archive::extract_layer(in.get(), dir + "/diff", archive::Limits::from_env());
  sys::write_file_atomic(dir + "/size", std::to_string(info.size), 0444);
  auto lock = store.lock_layer(info.diff_id);
  store.commit_layer(dir, info.diff_id);
  undo.dismiss();
  check(::lseek(in.get(), 0, SEEK_SET), "unable to rewind ", path);
  layer = hash_fd(in.get(), path);
  std::string base = path.substr(path.rfind('/') + 1);
  layer.media_type = media_type_of_file(sys::dirname(path), base);
  source.add(layer.digest, base, sys::dirname(path));
  return info.diff_id;
}

// The config of an imported root file system: the host's platform, docker's default PATH,
// /bin/sh, one layer; written to tmp/config.json.
image::Descriptor write_import_config(const std::string &tmp, const std::string &diff_id) {
  image::Platform host = image::Platform::host();
  std::string now = sys::now_rfc3339();
  json::Value cfg = json::Value::object();
  cfg.set("created", now);
  cfg.set("architecture", host.arch);
  if (!host.variant.empty())
    cfg.set("variant", host.variant);
  cfg.set("os", "linux");
  json::Value &c = cfg.set("config", json::Value::object());
  c.set("Env", json::Value::array())
      .push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  c.set("Cmd", json::Value::array()).push("/bin/sh");
  json::Value &rootfs = cfg.set("rootfs", json::Value::object());
  rootfs.set("type", "layers");
  rootfs.set("diff_ids", json::Value::array()).push(diff_id);
  json::Value &hist = cfg.set("history", json::Value::array()).push(json::Value::object());
  hist.set("created", now);
  hist.set("created_by", "koker import");
  std::string config_body = cfg.dump();
  sys::write_file_atomic(tmp + "/config.json", config_body, 0600);
  image::Descriptor config;
  config.digest = digest::sha256(config_body);
  config.size = config_body.size();
  config.media_type = image::media::oci_config;
  return config;
}

} // namespace

Resolved from_rootfs(const store::Store &store, const std::string &path, const std::string &tmp) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0)
    sys_fail("unable to import ", path);
  auto source = std::make_unique<FileSource>(tmp);
  image::Descriptor layer;
  std::string diff_id;
  if (S_ISDIR(st.st_mode))
    diff_id = pack_tree(path, tmp, *source, layer);
  else if (S_ISREG(st.st_mode))
    diff_id = unpack_tarball(store, path, *source, layer);
  else
    fail("unable to import ", path, ": not a directory or a tar file");
  image::Descriptor config = write_import_config(tmp, diff_id);
  source->add(config.digest, "config.json");
  Resolved r;
  r.manifest = make_manifest(config, {layer});
  r.source = std::move(source);
  return r;
}

} // namespace koker::sources
