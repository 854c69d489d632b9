// SPDX-License-Identifier: MIT
// koker-history: an image's history entries, newest first (docker history).
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/template.hpp"
#include "image/image.hpp"
#include "image/reference.hpp"
#include "store/store.hpp"

using namespace koker;

static const char USAGE[] =
    "Usage: koker-history [OPTIONS] IMAGE\n"
    "\n"
    "Show the history of an image, newest first: docker's columns IMAGE, CREATED,\n"
    "CREATED BY, SIZE and COMMENT (<missing> for the entries below the image itself).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT   table (default), json (one JSON array), a Go template\n"
    "                        ('{{.CreatedBy}}'), or table TEMPLATE for a header\n"
    "  -H, --human[=BOOL]    sizes and dates in human form (default true)\n"
    "      --no-trunc        do not shorten IDs and commands\n"
    "  -q, --quiet           print image IDs only\n"
    "  -D, --debug           trace every step on stderr\n"
    "      --root DIR        the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help            show this help\n"
    "      --version         show the version\n";

namespace {

struct Entry {
  std::string id, created, created_by, comment;
  uint64_t size = 0;
};

// docker's formatter: tabs as blanks, then at most 45 characters ending in "…".
std::string shorten(std::string s) {
  for (auto &c : s)
    if (c == '\t')
      c = ' ';
  size_t chars = 0, cut = std::string::npos;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && ++chars == 45)
      cut = i;
  return cut == std::string::npos || chars <= 45 ? s : s.substr(0, cut) + "…";
}

std::vector<Entry> entries_of(const store::Store &store, const store::ImageRecord &img) {
  auto body = store.read_blob(img.id, image::max_config_size);
  if (!body)
    fail("unable to read the history of image ", img.id, ": the store lacks its config");
  json::Value doc = json::parse(*body, "image config " + img.id);
  std::vector<Entry> out;
  size_t layer = 0;
  if (const json::Value *h = doc.find("history"); h && h->is_array()) {
    for (const auto &item : h->items()) {
      json::Fields f(&item, "image history");
      Entry e;
      e.created = f.string("created");
      e.created_by = f.string("created_by");
      e.comment = f.string("comment");
      if (!f.boolean("empty_layer") && layer < img.layers.size())
        e.size = store.layer_size(img.layers[layer++]);
      e.id = "<missing>";
      out.push_back(std::move(e));
    }
  }
  if (!out.empty())
    out.back().id = img.id;
  return {out.rbegin(), out.rend()};
}

} // namespace

static int history_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_NO_TRUNC };
  auto opts = cli::long_options({{"format", required_argument, nullptr, OPT_FORMAT},
                                 {"no-trunc", no_argument, nullptr, OPT_NO_TRUNC},
                                 {"human", optional_argument, nullptr, 'H'}});
  std::string format = "table";
  bool ids_only = false, no_trunc = false, human = true;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "H::";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (c == 'q') {
      ids_only = true; // docker's -q: IDs only
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    if (c == OPT_FORMAT) {
      format = optarg;
    } else if (c == OPT_NO_TRUNC) {
      no_trunc = true;
    } else if (c == 'H') {
      human = cli::bool_option("--human", optarg);
    } else {
      cli::bad_option(c, argv);
    }
  }
  tmpl::Listing listing = tmpl::parse_listing(format);
  if (argc - optind != 1)
    cli::usage_error("expected exactly one IMAGE");
  std::string query = argv[optind];
  store::Store store(store_root());
  auto img = store.find_image(query, registry::reference_key(query));
  if (!img)
    fail("no such image: ", printable(query));
  auto entries = entries_of(store, *img);
  auto id_of = [&](const Entry &e) {
    return no_trunc || e.id == "<missing>" ? e.id : e.id.substr(7, 12);
  };
  if (ids_only) {
    for (const auto &e : entries)
      out::line(id_of(e));
    return 0;
  }
  auto row_of = [&](const Entry &e) {
    json::Value v = json::Value::object();
    v.set("ID", id_of(e));
    v.set("CreatedSince", human ? time_ago(e.created) : e.created);
    v.set("CreatedAt", e.created);
    v.set("CreatedBy", no_trunc ? e.created_by : shorten(e.created_by));
    v.set("Size", human ? human_size(e.size) : std::to_string(e.size));
    v.set("Comment", e.comment);
    return v;
  };
  if (listing.kind == tmpl::Listing::Kind::json) {
    json::Value list = json::Value::array();
    for (const auto &e : entries) {
      json::Value v = json::Value::object();
      v.set("Id", e.id);
      v.set("Created", e.created);
      v.set("CreatedBy", e.created_by);
      v.set("Size", json::Value(e.size));
      v.set("Comment", e.comment);
      list.push(std::move(v));
    }
    out::line(list.dump(2));
    return 0;
  }
  if (listing.kind == tmpl::Listing::Kind::custom) {
    json::Value titles = json::Value::object();
    for (auto [field, title] : {std::pair{"ID", "IMAGE"},
                                {"CreatedSince", "CREATED"},
                                {"CreatedAt", "CREATED AT"},
                                {"CreatedBy", "CREATED BY"},
                                {"Size", "SIZE"},
                                {"Comment", "COMMENT"}})
      titles.set(field, title);
    std::vector<json::Value> values;
    for (const auto &e : entries)
      values.push_back(row_of(e));
    out::text(tmpl::render_listing(listing, titles, values, [](size_t, bool) {
      tmpl::Options o;
      o.strict = true;
      return o;
    }));
    return 0;
  }
  std::vector<std::vector<std::string>> cells = {
      {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}};
  for (const auto &e : entries) {
    json::Value v = row_of(e);
    cells.push_back({v.get_string("ID"), v.get_string("CreatedSince"), v.get_string("CreatedBy"),
                     v.get_string("Size"), v.get_string("Comment")});
  }
  out::text(render_table(cells));
  return 0;
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-history", USAGE, history_main);
}
