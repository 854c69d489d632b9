// SPDX-License-Identifier: MIT
// koker-ps: list containers, with docker's columns.
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "base/template.hpp"
#include "image/reference.hpp"
#include "runtime/lifecycle.hpp"
#include "store/store.hpp"
#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <regex>
#include <set>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-ps [OPTIONS]\n"
    "\n"
    "List the running containers (all of them with -a).\n"
    "\n"
    "Options:\n"
    "  -a, --all                show stopped containers too\n"
    "  -f, --filter KEY=VALUE   only the containers that match (repeatable; the same key\n"
    "                           twice: either value, different keys: all of them):\n"
    "                             status=created|running|paused|exited|restarting\n"
    "                             name=REGEX  id=REGEX  label=KEY  label=KEY=VALUE\n"
    "                             ancestor=IMAGE (its name or ID, or an image built on it)\n"
    "                             exited=CODE\n"
    "      --format FORMAT      table (default), json (one JSON array), a Go template\n"
    "                           ('{{.ID}} {{.Names}}'), or table TEMPLATE for a header\n"
    "      --no-trunc           full IDs and commands\n"
    "  -q, --quiet              print container IDs only\n"
    "  -D, --debug              trace every step on stderr\n"
    "      --root DIR           the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help               show this help\n"
    "      --version            show the version\n";

// docker's STATUS column.
static std::string status_of(const container::Record &r) {
  if (r.status == "running")
    return "Up " +
           human_duration(static_cast<int64_t>(::time(nullptr)) -
                          parse_rfc3339(r.started_at).value_or(::time(nullptr))) +
           (r.paused ? " (Paused)" : "");
  if (r.status == "restarting") // docker's: the last exit code, and when it was
    return r.finished_at.empty() ? cat("Restarting (", r.exit_code, ")")
                                 : cat("Restarting (", r.exit_code, ") ", time_ago(r.finished_at));
  if (r.status == "exited")
    return r.finished_at.empty() ? cat("Exited (", r.exit_code, ")") // when, nobody saw
                                 : cat("Exited (", r.exit_code, ") ", time_ago(r.finished_at));
  return "Created";
}

static std::string command_of(const container::Record &r, bool no_trunc) {
  std::string cmd = r.path;
  for (const auto &a : r.args)
    cmd += " " + a;
  if (!no_trunc && cmd.size() > 20)
    cmd = cmd.substr(0, 19) + "\u2026";
  return "\"" + cmd + "\"";
}

// Published ports are held only while the container runs: docker shows none for the others.
static std::string ports_of(const container::Record &r) {
  std::string s;
  if (r.status != "running")
    return s;
  for (const auto &p : r.publish)
    s += (s.empty() ? "" : ", ") + p;
  return s;
}

// ---- --filter: docker's keys and rules ----

struct Filters {
  std::map<std::string, std::vector<std::string>> by_key; // values of the same key: OR
};

const std::set<std::string> STATUSES = {"created", "restarting", "running", "removing",
                                        "paused",  "exited",     "dead"};

static void add_filter(Filters &f, std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    cli::usage_error(cat("bad format of filter ", printable(text), " (expected KEY=VALUE)"));
  std::string key(text.substr(0, eq)), value(text.substr(eq + 1));
  static const std::set<std::string> keys = {"status", "name", "label", "ancestor", "id",
                                             "exited"};
  if (!keys.count(key))
    cli::usage_error(cat("invalid filter '", printable(key), "'",
                         " (koker-ps knows status, name, label, ancestor, id and exited)"));
  if (key == "status" && !STATUSES.count(value))
    cli::usage_error(cat("invalid filter 'status=", printable(value),
                         "' (created, restarting, running, removing, paused, exited or dead)"));
  if (key == "exited" && !sys::parse_uint(value))
    cli::usage_error(cat("invalid filter 'exited=", printable(value), "': not an exit code"));
  if (key == "name" || key == "id")
    try {
      std::regex check(value); // docker matches these as regular expressions
    } catch (const std::regex_error &) {
      cli::usage_error(cat("invalid filter '", key, "=", printable(value),
                           "': not a regular expression"));
    }
  f.by_key[key].push_back(value);
}

static bool regex_finds(const std::string &pattern, const std::string &text) {
  return std::regex_search(text, std::regex(pattern));
}

// The IDs of the images ancestor=IMAGE names: the image itself and every image built on it
// (its layers are the start of theirs). An unknown image matches no container, as docker.
static std::set<std::string> ancestors_of(const std::vector<std::string> &queries) {
  std::set<std::string> ids;
  store::Store store(store_root());
  auto images = store.images();
  for (const auto &q : queries) {
    auto base = store.find_image(q, registry::reference_key(q));
    if (!base)
      continue;
    for (const auto &img : images)
      if (img.layers.size() >= base->layers.size() &&
          std::equal(base->layers.begin(), base->layers.end(), img.layers.begin()))
        ids.insert(img.id);
    ids.insert(base->id);
  }
  return ids;
}

// docker's rules: values of one key are alternatives; each key must match; every label=
// filter must match (a label list is a conjunction in docker too).
static bool matches(const Filters &f, const container::Record &r,
                    const std::set<std::string> &ancestor_ids) {
  for (const auto &[key, values] : f.by_key) {
    auto any = [&](const std::function<bool(const std::string &)> &test) {
      return std::any_of(values.begin(), values.end(), test);
    };
    bool ok = true;
    if (key == "status")
      ok = any([&](const std::string &v) { return v == r.status; });
    else if (key == "name")
      ok = any([&](const std::string &v) {
        return regex_finds(v, "/" + r.name) || regex_finds(v, r.name);
      });
    else if (key == "id")
      ok = any([&](const std::string &v) { return regex_finds(v, r.id); });
    else if (key == "exited")
      ok = r.status == "exited" && !r.started_at.empty() &&
           any([&](const std::string &v) { return std::to_string(r.exit_code) == v; });
    else if (key == "ancestor")
      ok = ancestor_ids.count(r.image_id) > 0;
    else if (key == "label")
      ok = std::all_of(values.begin(), values.end(), [&](const std::string &v) {
        size_t eq = v.find('=');
        auto it = r.labels.find(v.substr(0, eq));
        return it != r.labels.end() && (eq == std::string::npos || it->second == v.substr(eq + 1));
      });
    if (!ok)
      return false;
  }
  return true;
}

// ---- --format TEMPLATE: docker's fields of a container row ----

static std::string labels_text(const container::Record &r) {
  std::string s;
  for (const auto &[k, v] : r.labels)
    s += (s.empty() ? "" : ",") + k + "=" + v;
  return s;
}

static json::Value row_of(const container::Record &r, bool no_trunc) {
  json::Value v = json::Value::object();
  v.set("ID", no_trunc ? r.id : r.id.substr(0, 12));
  v.set("Image", r.image);
  v.set("Command", command_of(r, no_trunc));
  v.set("CreatedAt", created_at(r.created));
  v.set("RunningFor", time_ago(r.created));
  v.set("Ports", ports_of(r));
  v.set("State", r.status);
  v.set("Status", status_of(r));
  v.set("Names", r.name);
  v.set("Labels", labels_text(r));
  v.set("Mounts", "");
  // docker: the networks the container is on, comma-separated
  std::string networks = r.networks.empty() || r.network_mode == "bridge" ? r.network_mode : "";
  for (const auto &e : r.networks)
    networks += (networks.empty() ? "" : ",") + e.network;
  v.set("Networks", networks);
  return v;
}

static json::Value headers() {
  json::Value h = json::Value::object();
  for (auto [field, title] :
       {std::pair{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"},
        {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
        {"State", "STATE"}, {"Status", "STATUS"}, {"Names", "NAMES"}, {"Labels", "LABELS"},
        {"Mounts", "MOUNTS"}, {"Networks", "NETWORKS"}})
    h.set(field, title);
  return h;
}

// {{.Label "com.example.app"}}: the label's value; in the header, its last part in capitals.
static tmpl::Options options_for(const container::Record *r) {
  tmpl::Options o;
  o.strict = true;
  o.methods["Label"] = [r](const json::Value &, const std::vector<json::Value> &args) {
    if (args.size() != 1 || !args[0].is_string())
      fail("template: executing: wrong arguments for Label: want one string");
    const std::string &key = args[0].as_string();
    if (!r) {
      std::string h = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
      for (char &c : h)
        c = (c == '-' || c == '_') ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return json::Value(h);
    }
    auto it = r->labels.find(key);
    return json::Value(it == r->labels.end() ? "" : it->second);
  };
  return o;
}

static int ps_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_NO_TRUNC };
  auto opts = cli::long_options({{"all", no_argument, nullptr, 'a'},
                                 {"filter", required_argument, nullptr, 'f'},
                                 {"format", required_argument, nullptr, OPT_FORMAT},
                                 {"no-trunc", no_argument, nullptr, OPT_NO_TRUNC}});
  bool all = false, ids_only = false, no_trunc = false;
  std::string format = "table";
  Filters filters;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "af:";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (c == 'q') {
      ids_only = true; // docker's -q: IDs only
      continue;
    }
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'a': all = true; break;
    case 'f': add_filter(filters, optarg); break;
    case OPT_FORMAT: format = optarg; break;
    case OPT_NO_TRUNC: no_trunc = true; break;
    default: cli::bad_option(c, argv);
    }
  }
  tmpl::Listing listing = tmpl::parse_listing(format);
  if (optind != argc)
    cli::usage_error("koker-ps takes no arguments");
  // docker: a status filter lists stopped containers without -a.
  if (filters.by_key.count("status"))
    all = true;

  std::string root = store_root();
  std::set<std::string> ancestor_ids;
  if (auto it = filters.by_key.find("ancestor"); it != filters.by_key.end())
    ancestor_ids = ancestors_of(it->second);
  std::vector<container::Record> rows;
  // Finishes what a killed supervisor left: an --rm container found dead goes.
  for (auto &now : lifecycle::settle_all(root)) {
    // docker lists a container waiting to restart with the running ones.
    if ((all || now.status == "running" || now.status == "restarting") &&
        matches(filters, now, ancestor_ids))
      rows.push_back(std::move(now));
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto &a, const auto &b) { return a.created > b.created; });

  if (ids_only) {
    std::string out;
    for (const auto &r : rows)
      out += (no_trunc ? r.id : r.id.substr(0, 12)) + "\n";
    out::text(out);
    return 0;
  }
  if (listing.kind == tmpl::Listing::Kind::custom) {
    std::vector<json::Value> values;
    for (const auto &r : rows)
      values.push_back(row_of(r, no_trunc));
    out::text(tmpl::render_listing(listing, headers(), values, [&](size_t i, bool header) {
      return options_for(header ? nullptr : &rows[i]);
    }));
    return 0;
  }
  if (listing.kind == tmpl::Listing::Kind::json) {
    json::Value list = json::Value::array();
    for (const auto &r : rows) {
      json::Value v = json::Value::object();
      v.set("Id", r.id);
      v.set("Image", r.image);
      v.set("Command", command_of(r, true));
      v.set("Created", r.created);
      v.set("State", r.status == "running" && r.paused ? "paused" : r.status);
      v.set("Status", status_of(r));
      v.set("Ports", ports_of(r));
      v.set("Names", r.name);
      v.set("Pid", r.status == "running" ? r.pid : 0);
      v.set("ExitCode", r.exit_code);
      json::Value &labels = v.set("Labels", json::Value::object());
      for (const auto &[k, val] : r.labels)
        labels.set(k, val);
      list.push(std::move(v));
    }
    out::line(list.dump(2));
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
  for (const auto &r : rows)
    table.push_back({no_trunc ? r.id : r.id.substr(0, 12), r.image, command_of(r, no_trunc),
                     time_ago(r.created), status_of(r), ports_of(r), r.name});
  std::string out = render_table(table);
  out::text(out);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-ps", USAGE, ps_main); }
