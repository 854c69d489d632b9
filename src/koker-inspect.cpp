// SPDX-License-Identifier: MIT
// koker-inspect: the full record of images (and, later, containers) as one JSON array.
#include "store/container.hpp"
#include "base/error.hpp"
#include "image/image.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/template.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-inspect [OPTIONS] CONTAINER|IMAGE...\n"
    "\n"
    "Print the full record of each container or image as one JSON array, with docker's field\n"
    "names. A name is looked up as a container first, then as an image.\n"
    "\n"
    "Options:\n"
    "      --type container|image  look up only this kind of object\n"
    "  -f, --format TEMPLATE  each object through a Go template, a line each\n"
    "                   ('{{.State.Pid}}', '{{json .Config}}', '{{index .Config.Labels \"k\"}}')\n"
    "  -q, --quiet      print nothing but the JSON and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

// docker image inspect's fields, from the index record and the stored config.
static json::Value inspect_image(const store::Store &store, const store::ImageRecord &rec) {
  auto body = store.read_blob(rec.id, image::max_config_size);
  if (!body)
    fail("unable to read the config of image ", rec.id, ": missing from the store");
  image::Config cfg = image::parse_config(*body);
  json::Value v = json::Value::object();
  v.set("Id", rec.id);
  v.set("RepoTags", json::string_array(rec.repo_tags));
  v.set("RepoDigests", json::string_array(rec.repo_digests));
  v.set("Parent", "");
  v.set("Comment", cfg.doc.get_string("comment"));
  v.set("Created", cfg.created);
  v.set("Author", cfg.doc.get_string("author"));
  const json::Value *config = cfg.doc.find("config");
  v.set("Config", config ? *config : json::Value::object());
  v.set("Architecture", cfg.arch);
  if (!cfg.variant.empty())
    v.set("Variant", cfg.variant);
  v.set("Os", cfg.os);
  v.set("Size", json::Value(rec.size));
  json::Value &driver = v.set("GraphDriver", json::Value::object());
  driver.set("Name", "overlay");
  std::string lower;
  for (auto it = rec.layers.rbegin(); it != rec.layers.rend(); ++it)
    lower += (lower.empty() ? "" : ":") + store.layer_dir(*it) + "/diff";
  driver.set("Data", json::Value::object()).set("LowerDir", lower);
  json::Value &rootfs = v.set("RootFS", json::Value::object());
  rootfs.set("Type", "layers");
  rootfs.set("Layers", json::string_array(rec.layers));
  json::Value &meta = v.set("Metadata", json::Value::object());
  meta.set("LastTagTime", rec.pulled);
  meta.set("Manifest", rec.manifest_digest);
  meta.set("ManifestMediaType", rec.manifest_media_type);
  return v;
}

// The record, and where its files are (derived, not stored): docker's paths, and the OCI
// bundle (config.json and rootfs/) that runc or koker-oci can run as it is.
static json::Value inspect_container(const std::string &root, const container::Record &rec) {
  json::Value v = container::refresh(root, rec).to_json();
  std::string dir = container::dir_of(root, rec.id);
  v.set("ResolvConfPath", dir + "/resolv.conf");
  v.set("HostnamePath", dir + "/hostname");
  v.set("HostsPath", dir + "/hosts");
  v.set("LogPath", dir + "/container.log");
  v.set("BundlePath", dir + "/bundle");
  return v;
}

static int inspect_main(int argc, char **argv) {
  enum { OPT_TYPE = 1 };
  auto opts = cli::long_options({{"type", required_argument, nullptr, OPT_TYPE},
                                 {"format", required_argument, nullptr, 'f'}});
  std::string type;
  std::optional<tmpl::Template> format;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "f:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    if (c == OPT_TYPE)
      type = optarg;
    else if (c == 'f' && std::string_view(optarg) != "json")
      try {
        format = tmpl::Template::parse(optarg);
      } catch (const Error &e) {
        cli::usage_error(e.what());
      }
    else if (c == 'f')
      format.reset(); // docker's --format json: the JSON array, as without it
    else
      cli::bad_option(c, argv);
  }
  if (!type.empty() && type != "container" && type != "image")
    cli::usage_error("--type takes container or image");
  if (optind == argc)
    cli::usage_error("CONTAINER or IMAGE is missing");
  store::Store store(store_root());
  json::Value list = json::Value::array();
  // docker: with a template, each object's line is printed as it comes, and an object the
  // template fails on is an error like an unknown one.
  auto emit = [&](json::Value v) {
    if (format)
      out::line(format->execute(v));
    else
      list.push(std::move(v));
  };
  int status = cli::for_each_operand(argc, argv, [&](const char *name) {
    if (type != "image")
      if (auto c = container::find(store.root(), name)) {
        emit(inspect_container(store.root(), *c));
        return;
      }
    std::optional<store::ImageRecord> rec;
    if (type != "container")
      rec = store.find_image(name, registry::reference_key(name));
    if (!rec)
      fail("no such object: ", printable(name));
    emit(inspect_image(store, *rec));
  });
  if (!format)
    out::line(list.dump(4));
  return status;
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-inspect", USAGE, inspect_main);
}
