// SPDX-License-Identifier: MIT
// koker-save: write images as a tar archive that docker load, podman load and skopeo read.
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "image/archive.hpp"
#include "image/image.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"
#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-save [OPTIONS] IMAGE...\n"
    "\n"
    "Write images, with their tags, as a tar archive (to stdout unless -o). The default\n"
    "is Docker 25's layout: an OCI image layout that also holds docker's manifest.json,\n"
    "which docker load, podman load and skopeo read. A NAME without a tag saves every tag\n"
    "of that repository; an ID saves the image untagged. With SOURCE_DATE_EPOCH set, no\n"
    "time in the archive is later than it.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write to FILE (atomically) instead of stdout\n"
    "      --format FORMAT   docker-archive (docker's classic layout) or oci-archive (the\n"
    "                        OCI layout alone); default: both in one archive\n"
    "  -q, --quiet           print nothing but errors\n"
    "  -D, --debug           trace every step on stderr\n"
    "      --root DIR        the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help            show this help\n"
    "      --version         show the version\n";

namespace {

enum class Format { hybrid, docker, oci };

struct Image {
  store::ImageRecord rec;
  std::vector<std::string> tags; // the RepoTags to write, "alpine:3.20"
  std::string manifest;          // the stored manifest, byte for byte
  image::Manifest parsed;
};

// One entry of the archive: a directory, small data, or a blob copied from the store.
struct Entry {
  enum Kind { dir, small, blob } kind = dir;
  std::string data;
  std::string digest;
  uint64_t size = 0;
  int64_t mtime = 0;
};

bool has_tag_or_digest(std::string_view name) {
  auto slash = name.rfind('/');
  std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return last.find_first_of(":@") != std::string_view::npos;
}

void add_tags(std::vector<Image> &images, const store::ImageRecord &rec,
              const std::vector<std::string> &tags) {
  auto it = std::find_if(images.begin(), images.end(),
                         [&](const Image &i) { return i.rec.id == rec.id; });
  if (it == images.end())
    it = images.insert(images.end(), Image{rec, {}, {}, {}});
  for (const auto &t : tags)
    if (std::find(it->tags.begin(), it->tags.end(), t) == it->tags.end())
      it->tags.push_back(t);
}

// docker save's operands: NAME:TAG that tag; a bare NAME every tag of that repository; an
// ID (or NAME@DIGEST) the image without tags.
void select(const store::Store &store, const std::string &name, std::vector<Image> &images) {
  std::string key = registry::reference_key(name);
  if (!key.empty() && !has_tag_or_digest(name)) {
    std::string repo = registry::parse_reference(name).name() + ":";
    bool found = false;
    for (const auto &rec : store.images())
      for (const auto &t : rec.repo_tags)
        if (t.compare(0, repo.size(), repo) == 0) {
          add_tags(images, rec, {t});
          found = true;
        }
    if (found)
      return;
  }
  auto rec = store.find_image(name, key);
  if (!rec)
    fail("no such image: ", printable(name));
  bool tagged =
      std::find(rec->repo_tags.begin(), rec->repo_tags.end(), key) != rec->repo_tags.end();
  add_tags(images, *rec, tagged ? std::vector<std::string>{key} : std::vector<std::string>{});
}

// Reads what the archive needs of an image: its manifest, which must name the layer blobs
// the store kept (an image pulled by a koker older than save has none).
void read_manifest(const store::Store &store, Image &img) {
  std::string shown = img.tags.empty() ? img.rec.id : img.tags[0];
  if (img.rec.layer_blobs.empty() && !img.rec.layers.empty())
    fail("unable to save ", shown, ": the store holds no layer blobs for it (it was stored by ",
         "an older koker): pull it again");
  auto body = store.read_blob(img.rec.manifest_digest, image::max_manifest_size);
  if (!body)
    fail("unable to save ", shown, ": its manifest ", img.rec.manifest_digest,
         " is missing from the store: pull it again");
  img.manifest = *body;
  img.parsed = image::parse_manifest(img.manifest, img.rec.manifest_media_type);
  for (const auto &l : img.parsed.layers)
    if (!store.has_blob(l.digest))
      fail("unable to save ", shown, ": the store lacks its layer blob ", l.digest,
           ": pull it again");
}

// SOURCE_DATE_EPOCH (reproducible-builds.org): no time in the archive is later.
int64_t clamp(int64_t t) {
  static const std::optional<uint64_t> epoch = [] {
    std::string v = sys::env("SOURCE_DATE_EPOCH");
    if (v.empty())
      return std::optional<uint64_t>{};
    auto n = sys::parse_uint(v);
    if (!n)
      fail("invalid SOURCE_DATE_EPOCH ", printable(v), ": expected seconds since the epoch");
    return n;
  }();
  if (t < 0)
    t = 0;
  return epoch && static_cast<uint64_t>(t) > *epoch ? static_cast<int64_t>(*epoch) : t;
}

std::string blob_name(std::string_view digest) { return "blobs/sha256/" + digest::hex_of(digest); }

void add_blob(std::map<std::string, Entry> &entries, const std::string &name,
              const image::Descriptor &d, int64_t mtime) {
  Entry e;
  e.kind = Entry::blob;
  e.digest = d.digest;
  e.size = d.size;
  e.mtime = clamp(mtime);
  entries.emplace(name, e); // a blob two images share is written once, with the first's time
}

void add_data(std::map<std::string, Entry> &entries, const std::string &name, std::string data) {
  Entry e;
  e.kind = Entry::small;
  e.data = std::move(data);
  e.mtime = clamp(0);
  entries[name] = e;
}

// A layer file of the classic docker-archive: the stored blob, compressed as it is (docker
// and podman load detect gzip and zstd by content), named after its digest.
std::string layer_file(const image::Descriptor &d) {
  std::string name = digest::hex_of(d.digest) + ".tar";
  if (d.media_type.find("gzip") != std::string::npos)
    name += ".gz";
  else if (d.media_type.find("zstd") != std::string::npos)
    name += ".zst";
  return name;
}

// Every entry of the archive, by name: the map's order is the archive's, so the same images
// give the same bytes.
std::map<std::string, Entry> plan(const std::vector<Image> &images, Format format) {
  std::map<std::string, Entry> entries;
  json::Value index = json::Value::object();
  index.set("schemaVersion", 2);
  index.set("mediaType", image::media::oci_index);
  json::Value &list = index.set("manifests", json::Value::array());
  json::Value docker = json::Value::array();
  json::Value repositories = json::Value::object();
  for (const auto &img : images) {
    int64_t created = parse_rfc3339(img.rec.created).value_or(0);
    const auto &m = img.parsed;
    json::Value &entry = docker.push(json::Value::object());
    if (format == Format::docker) {
      entry.set("Config", digest::hex_of(m.config.digest) + ".json");
      add_blob(entries, digest::hex_of(m.config.digest) + ".json", m.config, created);
      entry.set("RepoTags", json::Value());
      json::Value &names = entry.set("Layers", json::Value::array());
      for (const auto &d : m.layers) {
        names.push(layer_file(d));
        add_blob(entries, layer_file(d), d, created);
      }
    } else {
      image::Descriptor manifest{img.rec.manifest_media_type,
                                 img.rec.manifest_digest,
                                 img.manifest.size(),
                                 {},
                                 {},
                                 {},
                                 {},
                                 {}};
      add_blob(entries, blob_name(manifest.digest), manifest, created);
      add_blob(entries, blob_name(m.config.digest), m.config, created);
      entry.set("Config", blob_name(m.config.digest));
      entry.set("RepoTags", json::Value());
      json::Value &names = entry.set("Layers", json::Value::array());
      for (const auto &d : m.layers) {
        names.push(blob_name(d.digest));
        add_blob(entries, blob_name(d.digest), d, created);
      }
      // One index entry per tag, named as Docker 25 names them; one without names for an
      // untagged image.
      auto describe = [&] {
        json::Value &v = list.push(json::Value::object());
        v.set("mediaType", img.rec.manifest_media_type);
        v.set("digest", img.rec.manifest_digest);
        v.set("size", json::Value(static_cast<uint64_t>(img.manifest.size())));
        return &v;
      };
      if (img.tags.empty())
        describe();
      for (const auto &t : img.tags) {
        registry::Reference ref = registry::parse_reference(t);
        json::Value &notes = describe()->set("annotations", json::Value::object());
        notes.set("io.containerd.image.name", ref.canonical());
        notes.set("org.opencontainers.image.ref.name", ref.tag);
      }
    }
    if (!img.tags.empty()) {
      json::Value &tags = entry.set("RepoTags", json::Value::array());
      for (const auto &t : img.tags) {
        tags.push(t);
        registry::Reference ref = registry::parse_reference(t);
        json::Value *repo = repositories.find(ref.name());
        if (!repo)
          repo = &repositories.set(ref.name(), json::Value::object());
        if (!m.layers.empty())
          repo->set(ref.tag, digest::hex_of(m.layers.back().digest));
      }
    }
  }
  if (format != Format::docker) {
    Entry dir;
    dir.mtime = clamp(0);
    entries["blobs/"] = dir;
    entries["blobs/sha256/"] = dir;
    add_data(entries, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    add_data(entries, "index.json", index.dump());
  }
  if (format != Format::oci) {
    add_data(entries, "manifest.json", docker.dump());
    add_data(entries, "repositories", repositories.dump());
  }
  return entries;
}

void write_archive(const store::Store &store, const std::map<std::string, Entry> &entries, int fd,
                   const std::string &shown) {
  archive::TarWriter tar(fd, shown);
  for (const auto &[name, e] : entries) {
    if (e.kind == Entry::dir) {
      tar.add_dir(name, e.mtime);
    } else if (e.kind == Entry::small) {
      tar.add_data(name, e.data, e.mtime);
    } else {
      std::string path = store.blob_path(e.digest);
      Fd blob(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!blob)
        sys_fail("unable to open ", path);
      struct stat st;
      check(::fstat(blob.get(), &st), "unable to stat ", path);
      if (static_cast<uint64_t>(st.st_size) != e.size)
        fail("unable to save blob ", e.digest, ": the store holds ", st.st_size,
             " bytes, its descriptor says ", e.size);
      tar.add_file(name, blob.get(), e.size, e.mtime, path);
    }
  }
  tar.close();
}

} // namespace

static int save_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1 };
  auto opts = cli::long_options({{"output", required_argument, nullptr, 'o'},
                                 {"format", required_argument, nullptr, OPT_FORMAT}});
  std::string output;
  Format format = Format::hybrid;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "o:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'o':
      output = optarg;
      if (output.empty())
        cli::usage_error("--output needs a file name");
      break;
    case OPT_FORMAT:
      if (std::string_view(optarg) == "docker-archive")
        format = Format::docker;
      else if (std::string_view(optarg) == "oci-archive")
        format = Format::oci;
      else
        cli::usage_error(
            cat("invalid --format ", printable(optarg), " (docker-archive or oci-archive)"));
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (optind == argc)
    cli::usage_error("IMAGE is missing");
  if (output.empty() && ::isatty(1))
    fail("cowardly refusing to save to a terminal: use the -o flag or redirect");
  // A reader that goes away (koker save x | head) is reported as EPIPE, not a silent death.
  ::signal(SIGPIPE, SIG_IGN);

  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  // Shared with pulls: no clean-up removes a blob while it is copied.
  auto busy = store.lock_for_pull();
  std::vector<Image> images;
  for (int i = optind; i < argc; ++i)
    select(store, argv[i], images);
  for (auto &img : images)
    read_manifest(store, img);
  auto entries = plan(images, format);

  if (output.empty()) {
    write_archive(store, entries, 1, "stdout");
    return 0;
  }
  // Written beside FILE and renamed over it once complete: FILE is never half an archive.
  std::string tmp = cat(sys::dirname(output), "/.", output.substr(output.rfind('/') + 1),
                        ".koker-save-", sys::random_hex(8));
  log::debug("open ", tmp, " O_CREAT|O_EXCL");
  Fd file(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!file)
    sys_fail("unable to create ", output);
  sys::Rollback undo;
  undo.add("remove " + tmp, [tmp] { ::unlink(tmp.c_str()); });
  write_archive(store, entries, file.get(), output);
  check(::fsync(file.get()), "unable to write ", output);
  file.reset();
  log::debug("rename ", tmp, " to ", output);
  check(::rename(tmp.c_str(), output.c_str()), "unable to rename ", tmp, " to ", output);
  undo.dismiss();
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-save", USAGE, save_main); }
