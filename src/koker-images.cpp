// SPDX-License-Identifier: MIT
// koker-images: list the images in the store, with docker's columns.
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/template.hpp"
#include "store/store.hpp"
#include <algorithm>
#include <set>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-images [OPTIONS]\n"
    "\n"
    "List the images in the store.\n"
    "\n"
    "Options:\n"
    "      --format FORMAT      table (default), json (one JSON array), a Go template\n"
    "                           ('{{.Repository}}:{{.Tag}}'), or table TEMPLATE for a header\n"
    "  -a, --all                also the intermediate images of builds (untagged parents)\n"
    "      --no-trunc           full image IDs\n"
    "  -q, --quiet              print image IDs only\n"
    "  -D, --debug              trace every step on stderr\n"
    "      --root DIR           the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help               show this help\n"
    "      --version            show the version\n";

struct Row {
  std::string repository, tag, id;
  const store::ImageRecord *image;
};

// "127.0.0.1:5000/koker/one:latest" -> {"127.0.0.1:5000/koker/one", "latest"}
static std::pair<std::string, std::string> split_tag(const std::string &t) {
  size_t colon = t.rfind(':');
  if (colon == std::string::npos || t.find('/', colon) != std::string::npos)
    return {t, "<none>"};
  return {t.substr(0, colon), t.substr(colon + 1)};
}

// docker's fields of an image row, for --format TEMPLATE.
static json::Value row_of(const Row &r, bool no_trunc) {
  json::Value v = json::Value::object();
  v.set("ID", no_trunc ? r.image->id : r.id);
  v.set("Repository", r.repository);
  v.set("Tag", r.tag);
  std::string digest = "<none>";
  for (const auto &d : r.image->repo_digests)
    if (d.rfind(r.repository + "@", 0) == 0)
      digest = d.substr(r.repository.size() + 1);
  v.set("Digest", digest);
  v.set("CreatedSince", time_ago(r.image->created));
  v.set("CreatedAt", created_at(r.image->created));
  v.set("Size", human_size(r.image->size));
  v.set("VirtualSize", human_size(r.image->size));
  v.set("Containers", "N/A");
  return v;
}

static json::Value headers() {
  json::Value h = json::Value::object();
  for (auto [field, title] :
       {std::pair{"ID", "IMAGE ID"}, {"Repository", "REPOSITORY"}, {"Tag", "TAG"},
        {"Digest", "DIGEST"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
        {"Size", "SIZE"}, {"VirtualSize", "VIRTUAL SIZE"}, {"Containers", "CONTAINERS"}})
    h.set(field, title);
  return h;
}

static int images_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_NO_TRUNC };
  auto opts = cli::long_options({{"format", required_argument, nullptr, OPT_FORMAT},
                                 {"no-trunc", no_argument, nullptr, OPT_NO_TRUNC},
                                 {"all", no_argument, nullptr, 'a'}});
  std::string format = "table";
  bool ids_only = false, no_trunc = false, all = false;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "a";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (c == 'a') {
      all = true;
      continue;
    }
    if (c == 'q') {
      ids_only = true; // docker's -q: IDs only
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    if (c == OPT_FORMAT)
      format = optarg;
    else if (c == OPT_NO_TRUNC)
      no_trunc = true;
    else
      cli::bad_option(c, argv);
  }
  tmpl::Listing listing = tmpl::parse_listing(format);
  if (optind != argc)
    cli::usage_error("koker-images takes no arguments");

  store::Store store(store_root());
  auto images = store.images();
  // Newest first, as docker lists them.
  std::stable_sort(images.begin(), images.end(), [](const auto &a, const auto &b) {
    return a.created > b.created;
  });
  // docker's intermediate images (koker-build's steps): untagged, and another image's parent.
  // Shown with -a only.
  std::set<std::string> parents;
  for (const auto &img : images)
    if (!img.parent.empty())
      parents.insert(img.parent);
  std::vector<Row> rows;
  for (const auto &img : images) {
    std::string id = img.id.substr(7, 12);
    if (img.repo_tags.empty() && parents.count(img.id) && !all)
      continue;
    if (img.repo_tags.empty())
      rows.push_back({"<none>", "<none>", id, &img});
    for (const auto &t : img.repo_tags) {
      auto [repo, tag] = split_tag(t);
      rows.push_back({repo, tag, id, &img});
    }
  }

  if (ids_only) {
    std::set<std::string> seen;
    for (const auto &r : rows)
      if (seen.insert(r.id).second)
        out::line(no_trunc ? r.image->id : r.id);
    return 0;
  }
  if (listing.kind == tmpl::Listing::Kind::custom) {
    std::vector<json::Value> values;
    for (const auto &r : rows)
      values.push_back(row_of(r, no_trunc));
    out::text(tmpl::render_listing(listing, headers(), values, [](size_t, bool) {
      tmpl::Options o;
      o.strict = true;
      return o;
    }));
    return 0;
  }
  if (listing.kind == tmpl::Listing::Kind::json) {
    json::Value list = json::Value::array();
    for (const auto &r : rows) {
      json::Value v = json::Value::object();
      v.set("Id", r.image->id);
      v.set("Repository", r.repository);
      v.set("Tag", r.tag);
      v.set("Created", r.image->created);
      v.set("Size", json::Value(r.image->size));
      json::Value &digests = v.set("RepoDigests", json::Value::array());
      for (const auto &d : r.image->repo_digests)
        digests.push(json::Value(d));
      list.push(std::move(v));
    }
    out::line(list.dump(2));
    return 0;
  }
  std::vector<std::vector<std::string>> cells = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (const auto &r : rows)
    cells.push_back({r.repository, r.tag, no_trunc ? r.image->id : r.id, time_ago(r.image->created),
                     human_size(r.image->size)});
  std::string table = render_table(cells);
  out::text(table);
  return 0;
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-images", USAGE, images_main);
}
