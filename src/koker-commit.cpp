// SPDX-License-Identifier: MIT
// koker-commit: a container's changes as a new image (docker commit); print its ID.
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "build/config_step.hpp"
#include "image/commit.hpp"
#include "image/image.hpp"
#include "image/reference.hpp"
#include "image/sources.hpp"
#include "runtime/create.hpp"
#include "runtime/freeze.hpp"
#include "runtime/run_spec.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include "runtime/container_diff.hpp"
#include <algorithm>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n"
    "\n"
    "Make a new image from a container's changes (its overlay upper layer as a new top layer)\n"
    "and print its ID (sha256:...). SOURCE_DATE_EPOCH, when set, is the image's time and the\n"
    "latest file time in the layer, so the same changes give the same image ID.\n"
    "\n"
    "Options:\n"
    "  -c, --change INSTRUCTION  apply a Dockerfile instruction to the config: CMD, ENTRYPOINT,\n"
    "                            ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR\n"
    "  -m, --message MSG         the history entry's comment\n"
    "  -a, --author AUTHOR       the image's author\n"
    "  -p, --pause[=true|false]  freeze the container while its files are read (default true)\n"
    "  -q, --quiet               print nothing but the ID and errors\n"
    "  -D, --debug               trace every step on stderr\n"
    "      --root DIR            the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help                show this help\n"
    "      --version             show the version\n";

namespace {

// docker commit's Config: the container's, less the HOSTNAME koker-run set from its hostname.
commit::Settings settings_of(const container::Record &rec) {
  commit::Settings s;
  s.cmd = rec.cmd;
  s.entrypoint = rec.entrypoint;
  for (const auto &e : rec.env)
    if (e != "HOSTNAME=" + rec.hostname)
      s.env.push_back(e);
  s.user = rec.user;
  s.working_dir = rec.workdir;
  s.stop_signal = rec.stop_signal;
  s.labels = rec.labels;
  for (const auto &p : rec.publish) { // "IP:HOSTPORT->PORT/PROTO"
    auto arrow = p.find("->");
    if (arrow != std::string::npos)
      s.exposed_ports.push_back(p.substr(arrow + 2));
  }
  for (const auto &m : rec.mounts)
    if (m.type == "volume" && m.anonymous)
      s.volumes.push_back(m.destination);
  return s;
}

// docker commit --change, each in order, as a Dockerfile's instruction: variables from the
// container's Env, an ENTRYPOINT clearing the Cmd unless a --change set one before it.
void apply_changes(json::Value &doc, const std::vector<std::string> &changes) {
  build_config::StageVars vars{dockerfile::Scope({}, {}, '\\'), false};
  build_config::seed_env(vars, doc);
  for (const auto &c : changes)
    build_config::apply_change(doc, c, vars);
}

} // namespace

static int commit_main(int argc, char **argv) {
  auto opts = cli::long_options({{"change", required_argument, nullptr, 'c'},
                                 {"message", required_argument, nullptr, 'm'},
                                 {"author", required_argument, nullptr, 'a'},
                                 {"pause", optional_argument, nullptr, 'p'}});
  std::vector<std::string> changes;
  std::string message, author;
  bool pause = true;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "c:m:a:p::";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'c':
      changes.emplace_back(optarg);
      break;
    case 'm':
      message = optarg;
      break;
    case 'a':
      author = optarg;
      break;
    case 'p':
      pause = cli::bool_option("--pause", optarg);
      break;
    default:
      cli::bad_option(c, argv);
    }
  }
  if (argc - optind < 1 || argc - optind > 2)
    cli::usage_error("expected CONTAINER and at most one REPOSITORY[:TAG]");
  std::string tag = argc - optind == 2 ? sources::normalise_tag(argv[optind + 1]) : "";
  std::optional<int64_t> epoch = commit::source_date_epoch();
  json::Value scratch = json::Value::object(); // every change is checked before anything
  apply_changes(scratch, changes);               // is read or frozen
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  std::string root = store_root();
  container::Record rec = container::get(root, argv[optind]);
  store::Store store(root);
  auto img = store.find_image(rec.image_id);
  if (!img)
    fail("unable to commit container ", rec.name, ": its image ", rec.image_id, " is gone");
  auto base_config = store.read_blob(img->id, image::max_config_size);
  if (!base_config)
    fail("unable to commit container ", rec.name, ": the store lacks the config of image ", img->id,
         ": pull it again");
  json::Value base = json::parse(*base_config, "image config " + img->id);
  if (img->layers.size() + 1 > image::max_layers)
    fail("unable to commit container ", rec.name, ": its image has ", img->layers.size(),
         " layers, and a container runs at most ", image::max_layers);
  // The layer goes through a pipe to the unpacker: should it fail first, the writer gets
  // EPIPE (and the unpacker's error is reported), not a SIGPIPE that kills it.
  ::signal(SIGPIPE, SIG_IGN);
  auto lock = store.lock_for_pull(); // tmp/ is ours and no clean-up runs until we are done
  commit::Layer layer = container_diff::store(store, rec, *img, epoch, pause);
  bool empty = layer.entries == 0;

  commit::History h;
  h.created = commit::created_time(epoch);
  h.author = author;
  h.comment = message;
  for (const auto &a : rec.cmd) // docker: the container's Cmd joined by blanks
    h.created_by += (h.created_by.empty() ? "" : " ") + a;
  h.empty_layer = empty;
  std::string config = commit::make_config(
      base, settings_of(rec), [&](json::Value &doc) { apply_changes(doc, changes); },
      layer.diff_id, h);
  store::ImageRecord out = commit::register_image(
      store, *img, config, empty ? std::nullopt : std::optional(layer), h.created,
      tag.empty() ? std::vector<std::string>{} : std::vector<std::string>{tag});
  out::line(out.id);
  return 0;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-commit", USAGE, commit_main); }
