// SPDX-License-Identifier: MIT
#include "base/text.hpp"
#include "image/image.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include <sys/utsname.h>

namespace koker::image {

bool is_index(std::string_view t) { return t == media::oci_index || t == media::docker_list; }
bool is_manifest(std::string_view t) {
  return t == media::oci_manifest || t == media::docker_manifest;
}

bool is_supported_layer(std::string_view t) {
  return t == media::oci_layer_tar || t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
         t == "application/vnd.oci.image.layer.v1.tar+zstd" ||
         t == "application/vnd.docker.image.rootfs.diff.tar" || // koker-commit's, containerd's
         t == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         t == "application/vnd.docker.image.rootfs.diff.tar.zstd";
}

Platform Platform::host() {
  struct utsname u;
  ::uname(&u);
  std::string_view m = u.machine;
  Platform p;
  if (m == "x86_64")
    p.arch = "amd64";
  else if (m == "aarch64")
    p.arch = "arm64";
  else if (m == "i686" || m == "i386")
    p.arch = "386";
  else if (m.substr(0, 3) == "arm") {
    p.arch = "arm";
    p.variant = m.substr(0, 5) == "armv6" ? "v6" : "v7";
  } else
    p.arch = std::string(m); // ppc64le, s390x, riscv64 share Go's names
  return p;
}

Platform Platform::parse(std::string_view text) {
  std::vector<std::string> parts = text::split(text, '/');
  Platform p;
  if (parts.size() == 1)
    p.arch = parts[0];
  else if (parts.size() <= 3) {
    p.os = parts[0];
    p.arch = parts[1];
    if (parts.size() == 3)
      p.variant = parts[2];
  }
  auto ok = [](const std::string &s) {
    return s.size() <= 32 &&
           text::all(s, [](char c) { return text::is_lower_alnum(c) || c == '_'; });
  };
  if (!ok(p.os) || !ok(p.arch) || (!p.variant.empty() && !ok(p.variant)))
    fail("invalid platform ", printable(text), " (want OS/ARCH[/VARIANT], e.g. linux/arm64)");
  return p;
}

std::string Platform::str() const {
  return variant.empty() ? cat(os, '/', arch) : cat(os, '/', arch, '/', variant);
}

namespace {

const json::Value &need(const json::Value &doc, std::string_view key, std::string_view what) {
  const json::Value *v = doc.find(key);
  if (!v)
    fail("invalid ", what, ": no \"", key, "\"");
  return *v;
}

Descriptor parse_descriptor(const json::Value &v, std::string_view what) {
  if (!v.is_object())
    fail("invalid ", what, ": a descriptor is not an object");
  json::Fields f(&v, std::string(what));
  Descriptor d;
  d.media_type = f.string("mediaType");
  d.digest = f.string("digest");
  if (!digest::is_valid(d.digest))
    fail("invalid ", what, ": unsupported or malformed digest ", printable(d.digest));
  const json::Value &size = need(v, "size", what);
  int64_t n = size.is_number() ? size.as_int() : -1;
  if (n < 0)
    fail("invalid ", what, ": bad size for ", d.digest);
  d.size = static_cast<uint64_t>(n);
  json::Fields platform = f.object("platform");
  d.os = platform.string("os");
  d.arch = platform.string("architecture");
  d.variant = platform.string("variant");
  d.ref_name = f.object("annotations").string("org.opencontainers.image.ref.name");
  d.image_name = f.object("annotations").string("io.containerd.image.name");
  return d;
}

json::Value parse_document(std::string_view body, std::string_view media_type,
                           std::string_view what) {
  json::Value doc = json::parse(body, what);
  if (!doc.is_object())
    fail("invalid ", what, ": not a JSON object");
  const json::Value *sv = doc.find("schemaVersion");
  if (!sv || !sv->is_number() || sv->as_int() != 2)
    fail("invalid ", what, ": schemaVersion is not 2");
  // The document's own mediaType must agree with the type it was served as (CVE-2021-41190).
  if (const json::Value *mt = doc.find("mediaType"); mt && !mt->is_null()) {
    if (!mt->is_string() || mt->as_string() != media_type)
      fail("invalid ", what, ": mediaType ", printable(mt->is_string() ? mt->as_string() : "?"),
           " does not match ", media_type);
  } else if (media_type == media::docker_manifest || media_type == media::docker_list) {
    fail("invalid ", what, ": Docker documents must name their mediaType");
  }
  return doc;
}

} // namespace

Manifest parse_manifest(std::string_view body, std::string_view media_type) {
  if (!is_manifest(media_type))
    fail("unsupported manifest type ", printable(media_type));
  json::Value doc = parse_document(body, media_type, "manifest");
  if (doc.find("manifests"))
    fail("invalid manifest: it has both \"layers\" and \"manifests\"");
  Manifest m;
  m.config = parse_descriptor(need(doc, "config", "manifest"), "manifest config");
  if (m.config.media_type != media::oci_config && m.config.media_type != media::docker_config)
    fail("not a container image: config type ", printable(m.config.media_type));
  if (m.config.size > max_config_size)
    fail("invalid manifest: config of ", m.config.size, " bytes is over the limit");
  const json::Value &layers = need(doc, "layers", "manifest");
  if (!layers.is_array())
    fail("invalid manifest: \"layers\" is not an array");
  // No cap on the count here (max_manifest_size bounds it): ingest::pull_image refuses more
  // than max_layers, naming the image.
  for (const auto &l : layers.items()) {
    Descriptor d = parse_descriptor(l, "manifest layer");
    if (!is_supported_layer(d.media_type))
      fail("unsupported layer type ", printable(d.media_type), " for ", d.digest);
    m.layers.push_back(std::move(d));
  }
  return m;
}

std::vector<Descriptor> parse_index(std::string_view body, std::string_view media_type) {
  if (!is_index(media_type))
    fail("unsupported index type ", printable(media_type));
  json::Value doc = parse_document(body, media_type, "index");
  if (doc.find("layers") || doc.find("config"))
    fail("invalid index: it has \"layers\" or \"config\" as a manifest would");
  const json::Value &list = need(doc, "manifests", "index");
  if (!list.is_array())
    fail("invalid index: \"manifests\" is not an array");
  std::vector<Descriptor> out;
  for (const auto &e : list.items())
    out.push_back(parse_descriptor(e, "index entry"));
  return out;
}

const Descriptor &select_platform(const std::vector<Descriptor> &entries, const Platform &p) {
  const Descriptor *loose = nullptr;
  for (const auto &d : entries) {
    if (d.os != p.os || d.arch != p.arch)
      continue;
    if (d.variant == p.variant)
      return d;
    // arm64's variant is optional ("v8"); an entry without one fits any request.
    if (!loose && (d.variant.empty() || p.variant.empty()))
      loose = &d;
  }
  if (loose)
    return *loose;
  std::string have;
  for (const auto &d : entries)
    have += cat(have.empty() ? "" : ", ", d.os, '/', d.arch, d.variant.empty() ? "" : "/",
                d.variant);
  fail("no image for ", p.str(), " in the index (it has: ", have.empty() ? "nothing" : have,
       ")");
}

Config parse_config(std::string_view body) {
  Config c;
  c.doc = json::parse(body, "image config");
  if (!c.doc.is_object())
    fail("invalid image config: not a JSON object");
  json::Fields f(&c.doc, "image config");
  const json::Value *rootfs = c.doc.find("rootfs");
  if (!rootfs || f.object("rootfs").string("type") != "layers")
    fail("invalid image config: rootfs.type is not \"layers\"");
  const json::Value *ids = rootfs->find("diff_ids");
  if (!ids || !ids->is_array())
    fail("invalid image config: no rootfs.diff_ids");
  for (const auto &id : ids->items()) {
    if (!id.is_string() || !digest::is_valid(id.as_string()))
      fail("invalid image config: malformed diff_id");
    c.diff_ids.push_back(id.as_string());
  }
  c.os = f.string("os");
  c.arch = f.string("architecture");
  c.variant = f.string("variant");
  c.created = f.string("created");
  // What a container runs, read strictly: a wrong type must never fall back to a default
  // (a "User" of 123 read as "" would be root).
  json::Fields run = f.object("config");
  c.env = run.strings("Env");
  c.cmd = run.strings("Cmd");
  c.entrypoint = run.strings("Entrypoint");
  c.user = run.string("User");
  c.working_dir = run.string("WorkingDir");
  c.labels = run.string_map("Labels");
  return c;
}

} // namespace koker::image
