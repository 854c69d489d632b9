// SPDX-License-Identifier: MIT
// koker-images: list the images in the store, with docker's columns.
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
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
    "      --format table|json  a table (default) or one JSON array\n"
    "  -q, --quiet              print image IDs only\n"
    "  -D, --debug              trace every step on stderr\n"
    "      --root DIR           the store (default /var/lib/koker, or KOKER_ROOT)\n"
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

static int images_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1 };
  auto opts = cli::long_options({{"format", required_argument, nullptr, OPT_FORMAT}});
  std::string format = "table";
  bool ids_only = false;
  for (int c; (c = getopt_long(argc, argv, cli::COMMON_SHORT_ANYWHERE, opts.data(), nullptr)) != -1;) {
    if (c == 'q') {
      ids_only = true; // docker's -q: IDs only
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    if (c == OPT_FORMAT)
      format = optarg;
    else
      cli::bad_option(c, argv);
  }
  cli::check_format(format);
  if (optind != argc)
    cli::usage_error("koker-images takes no arguments");

  store::Store store(store_root());
  auto images = store.images();
  // Newest first, as docker lists them.
  std::stable_sort(images.begin(), images.end(), [](const auto &a, const auto &b) {
    return a.created > b.created;
  });
  std::vector<Row> rows;
  for (const auto &img : images) {
    std::string id = img.id.substr(7, 12);
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
        out::line(r.id);
    return 0;
  }
  if (format == "json") {
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
    cells.push_back({r.repository, r.tag, r.id, time_ago(r.image->created),
                     human_size(r.image->size)});
  std::string table = render_table(cells);
  out::text(table);
  return 0;
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-images", USAGE, images_main);
}
