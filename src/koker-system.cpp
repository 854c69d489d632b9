// SPDX-License-Identifier: MIT
// koker-system: the store as a whole, as docker system shows it: df (what uses the disk),
// prune (remove what nothing uses), info (the host and the store) and version.
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/rootless.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/userns.hpp"
#include "base/sys.hpp"
#include "base/template.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "image/image.hpp"
#include "runtime/lifecycle.hpp"
#include "store/container.hpp"
#include "store/store.hpp"
#include "store/volume.hpp"
#include <algorithm>
#include <map>
#include <set>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-system [OPTIONS] COMMAND\n"
    "\n"
    "The store as a whole.\n"
    "\n"
    "Commands:\n"
    "  df [--format FORMAT]      disk used by images, containers, volumes and build cache\n"
    "  prune [-a] [-f] [--volumes]\n"
    "                            remove stopped containers and dangling images (-a: every\n"
    "                            image no container uses); asks first unless -f\n"
    "  prune-images [-a] [-f]    the images part of prune alone (koker image prune)\n"
    "  info [--format TEMPLATE]  the host, the store and the containers in it\n"
    "  version [--format TEMPLATE]  koker's version, as client and engine\n"
    "\n"
    "Options:\n"
    "  -a, --all        prune: every image no container uses, not only dangling ones\n"
    "  -f, --force      prune: do not ask for confirmation (needed without a terminal)\n"
    "      --volumes    prune: unused volumes too\n"
    "      --format F   df: table, json or a Go template; info, version: a Go template\n"
    "                   ('{{.ServerVersion}}', '{{json .}}')\n"
    "  -q, --quiet      print nothing but the data and errors\n"
    "  -D, --debug      trace every step on stderr\n"
    "      --root DIR   the store (default /var/lib/koker, rootless ~/.local/share/koker, or KOKER_ROOT)\n"
    "  -h, --help       show this help\n"
    "      --version    show the version\n";

namespace {

// Every container as it really is (read-only: nothing is settled here but by prune).
std::vector<container::Record> containers(const std::string &root) {
  std::vector<container::Record> out;
  for (const auto &r : container::list(root))
    out.push_back(container::refresh(root, r));
  return out;
}

bool stopped(const container::Record &r) {
  return r.status == "exited" || r.status == "created" || r.status == "dead";
}

uint64_t writable_size(const std::string &root, const container::Record &r) {
  return sys::disk_usage(container::dir_of(root, r.id) + "/upper");
}

// ---- df ----

struct DiskUse {
  std::string type;
  size_t total = 0, active = 0;
  uint64_t size = 0, reclaimable = 0;
  bool percent = true; // docker shows no percentage for the build cache
};

std::vector<DiskUse> disk_use(const store::Store &store) {
  auto images = store.images();
  auto recs = containers(store.root());
  std::set<std::string> used_images;
  for (const auto &r : recs)
    used_images.insert(r.image_id);
  // Layers are shared between images: each counts once, and is reclaimable when no image in
  // use holds it.
  std::map<std::string, uint64_t> layers;
  std::set<std::string> active_layers;
  DiskUse img{"Images"};
  img.total = images.size();
  for (const auto &i : images) {
    bool active = used_images.count(i.id) > 0;
    img.active += active;
    for (const auto &l : i.layers) {
      if (!layers.count(l))
        layers[l] = store.layer_size(l);
      if (active)
        active_layers.insert(l);
    }
  }
  for (const auto &[l, size] : layers) {
    img.size += size;
    if (!active_layers.count(l))
      img.reclaimable += size;
  }
  DiskUse con{"Containers"};
  con.total = recs.size();
  for (const auto &r : recs) {
    uint64_t size = writable_size(store.root(), r);
    con.size += size;
    if (r.status == "running" || r.status == "paused" || r.status == "restarting")
      ++con.active;
    else
      con.reclaimable += size;
  }
  // Volumes: active while a container (running or not) holds them, as docker counts them.
  DiskUse vol{"Local Volumes"};
  for (const auto &v : volume::list(store.root())) {
    uint64_t size = sys::disk_usage(volume::data_path(store.root(), v.name));
    ++vol.total;
    vol.size += size;
    if (!volume::users(store.root(), v.name).empty())
      ++vol.active;
    else
      vol.reclaimable += size;
  }
  DiskUse cache{"Build Cache"};
  cache.percent = false;
  return {img, con, vol, cache};
}

std::string reclaimable_text(const DiskUse &d) {
  std::string s = human_size(d.reclaimable);
  if (d.percent && d.size)
    s += cat(" (", d.reclaimable * 100 / d.size, "%)");
  return s;
}

int df(const store::Store &store, const std::string &format) {
  tmpl::Listing listing = tmpl::parse_listing(format);
  auto rows = disk_use(store);
  if (listing.kind == tmpl::Listing::Kind::table) {
    std::vector<std::vector<std::string>> cells = {
        {"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}};
    for (const auto &d : rows)
      cells.push_back({d.type, std::to_string(d.total), std::to_string(d.active),
                       human_size(d.size), reclaimable_text(d)});
    out::text(render_table(cells));
    return 0;
  }
  std::vector<json::Value> values;
  for (const auto &d : rows) {
    json::Value v = json::Value::object();
    v.set("Type", d.type);
    v.set("TotalCount", std::to_string(d.total));
    v.set("Active", std::to_string(d.active));
    v.set("Size", human_size(d.size));
    v.set("Reclaimable", reclaimable_text(d));
    values.push_back(std::move(v));
  }
  if (listing.kind == tmpl::Listing::Kind::json) {
    json::Value list = json::Value::array();
    for (auto &v : values)
      list.push(std::move(v));
    out::line(list.dump(2));
    return 0;
  }
  json::Value headers = json::Value::object();
  for (auto [field, title] : {std::pair{"Type", "TYPE"}, {"TotalCount", "TOTAL"},
                              {"Active", "ACTIVE"}, {"Size", "SIZE"},
                              {"Reclaimable", "RECLAIMABLE"}})
    headers.set(field, title);
  out::text(tmpl::render_listing(listing, headers, values, [](size_t, bool) {
    tmpl::Options o;
    o.strict = true;
    return o;
  }));
  return 0;
}

// ---- prune ----

// docker asks on the terminal; without one, only -f says yes (a script must mean it).
void confirm(bool all, bool volumes, bool images_only) {
  if (!::isatty(STDIN_FILENO))
    cli::usage_error("prune asks for confirmation and stdin is not a terminal: "
                     "give -f (nothing was removed)");
  std::string msg = "WARNING! This will remove:\n";
  if (!images_only)
    msg += "  - all stopped containers\n";
  if (volumes)
    msg += "  - all anonymous volumes not used by at least one container\n";
  msg += all ? "  - all images without at least one container associated to them\n"
             : "  - all dangling images\n";
  msg += "\nAre you sure you want to continue? [y/N] ";
  sys::write_fd(STDERR_FILENO, msg, "stderr");
  std::string answer;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
    answer += c;
  answer = text::lower(text::trim(answer));
  if (answer != "y" && answer != "yes") {
    log::info("system prune has been cancelled");
    throw ExitNow{0};
  }
}

// The volumes no container uses, the anonymous ones only (docker 23+'s system prune
// --volumes, as its volume prune without --all), listed under "Deleted Volumes:".
uint64_t prune_volumes(const std::string &root, std::string &report) {
  volume::Pruned gone = volume::prune_unused(root, false);
  if (!gone.names.empty()) {
    report += "Deleted Volumes:\n";
    for (const auto &name : gone.names)
      report += name + "\n";
    report += "\n";
  }
  return gone.bytes;
}

// Stopped containers, each removed as koker-rm removes it (a container that started in the
// meantime is refused there, and kept), listed under "Deleted Containers:".
uint64_t prune_containers(const std::string &root, std::string &report) {
  uint64_t reclaimed = 0;
  std::vector<std::string> deleted_containers;
  // settle_all: dead containers settled, and what killed koker-runs left half made removed
  for (const auto &now : lifecycle::settle_all(root)) {
    if (!stopped(now))
      continue;
    uint64_t size = writable_size(root, now);
    try {
      log::debug("remove container ", now.id);
      lifecycle::remove(root, now, false);
      deleted_containers.push_back(now.id);
      reclaimed += size;
    } catch (const Error &e) {
      log::warn("keeping container ", now.id.substr(0, 12), ": ", e.what());
    }
  }
  if (!deleted_containers.empty()) {
    report += "Deleted Containers:\n";
    for (const auto &id : deleted_containers)
      report += id + "\n";
    report += "\n";
  }
  return reclaimed;
}

// images_only: docker image prune (the images part alone).
int prune(const store::Store &store, bool all, bool force, bool volumes, bool images_only) {
  if (!force)
    confirm(all, volumes, images_only);
  const std::string &root = store.root();
  uint64_t reclaimed = 0;
  std::string report;
  if (!images_only)
    reclaimed += prune_containers(root, report);

  if (volumes)
    reclaimed += prune_volumes(root, report);

  // Images no container uses: dangling ones (no tag), or with -a all of them. Each goes by
  // its tags (the last one deletes it) or its ID, never with force: remove_image checks again
  // under the index lock, so an image a container started using meanwhile stays.
  if (images_only) // else prune_containers' settle_all did it
    lifecycle::reclaim_abandoned(root);
  std::set<std::string> used;
  for (const auto &r : container::list(root))
    used.insert(r.image_id);
  std::map<std::string, uint64_t> layer_sizes;
  for (const auto &img : store.images())
    for (const auto &l : img.layers)
      layer_sizes[l] = store.layer_size(l);
  std::string image_lines;
  for (const auto &img : store.images()) {
    if (used.count(img.id) || (!all && !img.repo_tags.empty()))
      continue;
    try {
      std::vector<std::string> names = img.repo_tags;
      if (names.empty())
        names.push_back(img.id);
      for (const auto &name : names) {
        log::debug("remove image ", name);
        auto res = store.remove_image(name, name == img.id ? "" : name, false);
        for (const auto &t : res.untagged)
          image_lines += "untagged: " + t + "\n";
        for (const auto &id : res.deleted)
          image_lines += "deleted: " + id + "\n";
      }
    } catch (const Error &e) {
      log::warn("keeping image ", img.id.substr(7, 12), ": ", e.what());
    }
  }
  for (const auto &[layer, size] : layer_sizes)
    if (!store.has_layer(layer))
      reclaimed += size;
  if (!image_lines.empty())
    report += "Deleted Images:\n" + image_lines + "\n";
  report += "Total reclaimed space: " + human_size(reclaimed) + "\n";
  out::text(report);
  return 0;
}

// ---- info and version ----

std::string uname_field(const char *which) {
  struct utsname u;
  log::debug("uname()");
  if (::uname(&u) < 0)
    sys_fail("unable to read uname");
  return std::string_view(which) == "release" ? u.release
         : std::string_view(which) == "machine" ? u.machine
                                                : u.nodename;
}

// PRETTY_NAME of /etc/os-release, as docker shows the Operating System.
std::string operating_system() {
  auto text = sys::read_file_if_exists("/etc/os-release", 64 << 10);
  if (!text)
    text = sys::read_file_if_exists("/usr/lib/os-release", 64 << 10);
  for (const auto &line : text::split(text.value_or(""), '\n'))
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && (v[0] == '"' || v[0] == '\''))
        v = v.substr(1, v.size() - 2);
      return v;
    }
  return "Linux";
}

// docker's names for the filesystem under the store.
std::string backing_filesystem(const std::string &root) {
  struct statfs st;
  log::debug("statfs ", root);
  if (::statfs(root.c_str(), &st) < 0)
    return "unknown";
  switch (static_cast<unsigned long>(st.f_type)) {
  case 0xEF53: return "extfs";
  case 0x58465342: return "xfs";
  case 0x9123683E: return "btrfs";
  case 0x01021994: return "tmpfs";
  case 0x794c7630: return "overlayfs";
  case 0x2FC12FC1: return "zfs";
  default: return "unknown";
  }
}

json::Value info_doc(const store::Store &store) {
  auto recs = containers(store.root());
  size_t running = 0, paused = 0;
  for (const auto &r : recs) {
    running += r.status == "running" || r.status == "restarting";
    paused += r.status == "paused";
  }
  struct sysinfo si {};
  log::debug("sysinfo()");
  ::sysinfo(&si);
  cgroup::Host cgroups = cgroup::probe();
  cgroup::Mode mode = cgroups.mode;
  json::Value v = json::Value::object();
  v.set("ID", "");
  v.set("Containers", static_cast<int64_t>(recs.size()));
  v.set("ContainersRunning", static_cast<int64_t>(running));
  v.set("ContainersPaused", static_cast<int64_t>(paused));
  v.set("ContainersStopped", static_cast<int64_t>(recs.size() - running - paused));
  v.set("Images", static_cast<int64_t>(store.images().size()));
  v.set("Driver", "overlay2");
  json::Value &status = v.set("DriverStatus", json::Value::array());
  json::Value backing = json::Value::array();
  backing.push("Backing Filesystem");
  backing.push(backing_filesystem(store.root()));
  status.push(std::move(backing));
  // How containers' roots are mounted: overlayfs, or for a user overlayfs with userxattr or
  // fuse-overlayfs (rootfs::overlay_driver probes it).
  if (rootless::active()) {
    json::Value mount = json::Value::array();
    mount.push("Overlay");
    mount.push(rootfs::overlay_driver(store.root() + "/tmp"));
    status.push(std::move(mount));
  }
  v.set("LoggingDriver", "koker");
  v.set("CgroupDriver", "cgroupfs");
  v.set("CgroupVersion", mode == cgroup::Mode::v2 ? "2" : "1");
  // A user's limits need a delegated cgroup v2 subtree (docs/rootless.md "Limits"): where it
  // is, or that there is none. Not in root's output, which stays docker's.
  if (rootless::active())
    v.set("CgroupDelegation", cgroup::delegation_text(cgroups));
  v.set("DefaultRuntime", "koker");
  std::vector<std::string> security{"name=seccomp,profile=builtin"};
  if (rootless::active())
    security.push_back("name=rootless"); // as docker's rootless mode says it
  v.set("SecurityOptions", json::string_array(security));
  v.set("KernelVersion", uname_field("release"));
  v.set("OperatingSystem", operating_system());
  v.set("OSType", "linux");
  v.set("Architecture", uname_field("machine"));
  v.set("NCPU", static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  v.set("MemTotal", static_cast<uint64_t>(si.totalram) * si.mem_unit);
  v.set("Name", uname_field("nodename"));
  v.set("DockerRootDir", store.root());
  v.set("Debug", log::debug_on());
  v.set("ServerVersion", KOKER_VERSION);
  return v;
}

std::string info_text(const json::Value &v) {
  json::Fields f(&v, "info");
  std::string backing = v.find("DriverStatus")->items()[0].items()[1].as_string();
  const auto &driver_status = v.find("DriverStatus")->items();
  std::string overlay = driver_status.size() > 1
                            ? cat("  Overlay: ", driver_status[1].items()[1].as_string(), "\n")
                            : std::string();
  bool rootless_mode = v.find("SecurityOptions")->items().size() > 1;
  return cat("Client:\n"
             " Version:    ", KOKER_VERSION, "\n"
             " Context:    default\n"
             " Debug Mode: ", f.boolean("Debug") ? "true" : "false", "\n"
             "\n"
             "Server:\n"
             " Containers: ", f.integer("Containers"), "\n"
             "  Running: ", f.integer("ContainersRunning"), "\n"
             "  Paused: ", f.integer("ContainersPaused"), "\n"
             "  Stopped: ", f.integer("ContainersStopped"), "\n"
             " Images: ", f.integer("Images"), "\n"
             " Server Version: ", f.string("ServerVersion"), "\n"
             " Storage Driver: ", f.string("Driver"), "\n"
             "  Backing Filesystem: ", backing, "\n",
             overlay,
             " Logging Driver: ", f.string("LoggingDriver"), "\n"
             " Cgroup Driver: ", f.string("CgroupDriver"), "\n"
             " Cgroup Version: ", f.string("CgroupVersion"), "\n",
             v.find("CgroupDelegation")
                 ? cat(" Cgroup Delegation: ", f.string("CgroupDelegation"), "\n")
                 : std::string(),
             " Default Runtime: ", f.string("DefaultRuntime"), "\n"
             " Security Options:\n"
             "  seccomp\n"
             "   Profile: builtin\n", rootless_mode ? "  rootless\n" : "",
             " Kernel Version: ", f.string("KernelVersion"), "\n"
             " Operating System: ", f.string("OperatingSystem"), "\n"
             " OSType: ", f.string("OSType"), "\n"
             " Architecture: ", f.string("Architecture"), "\n"
             " CPUs: ", f.integer("NCPU"), "\n"
             " Total Memory: ", human_size_binary(static_cast<uint64_t>(f.integer("MemTotal"))), "\n"
             " Name: ", f.string("Name"), "\n"
             " Docker Root Dir: ", f.string("DockerRootDir"), "\n"
             " Debug Mode: ", f.boolean("Debug") ? "true" : "false", "\n");
}

json::Value version_doc() {
  std::string arch = image::Platform::host().arch;
  json::Value v = json::Value::object();
  json::Value &client = v.set("Client", json::Value::object());
  client.set("Platform", json::Value::object()).set("Name", "koker");
  client.set("Version", KOKER_VERSION);
  client.set("Os", "linux");
  client.set("Arch", arch);
  client.set("Context", "default");
  json::Value &server = v.set("Server", json::Value::object());
  server.set("Platform", json::Value::object()).set("Name", "koker (no daemon)");
  json::Value &components = server.set("Components", json::Value::array());
  json::Value engine = json::Value::object();
  engine.set("Name", "Engine");
  engine.set("Version", KOKER_VERSION);
  json::Value &details = engine.set("Details", json::Value::object());
  details.set("Os", "linux");
  details.set("Arch", arch);
  details.set("KernelVersion", uname_field("release"));
  components.push(engine);
  json::Value runtime = json::Value::object();
  runtime.set("Name", "koker-oci");
  runtime.set("Version", KOKER_VERSION);
  components.push(runtime);
  server.set("Version", KOKER_VERSION);
  server.set("Os", "linux");
  server.set("Arch", arch);
  server.set("KernelVersion", uname_field("release"));
  return v;
}

std::string version_text(const json::Value &v) {
  const json::Value &s = *v.find("Server");
  std::string osarch = "linux/" + v.find("Client")->get_string("Arch");
  return cat("Client:\n"
             " Version:           ", KOKER_VERSION, "\n"
             " OS/Arch:           ", osarch, "\n"
             " Context:           default\n"
             "\n"
             "Server: ", s.find("Platform")->get_string("Name"), "\n"
             " Engine:\n"
             "  Version:          ", KOKER_VERSION, "\n"
             "  OS/Arch:          ", osarch, "\n"
             "  Kernel Version:   ", s.get_string("KernelVersion"), "\n"
             " koker-oci:\n"
             "  Version:          ", KOKER_VERSION, "\n");
}

// info and version: the text, or the document through --format.
int show(const json::Value &doc, const std::string &format, const std::string &text) {
  if (format.empty()) {
    out::text(text);
    return 0;
  }
  if (format == "json") {
    out::line(doc.dump());
    return 0;
  }
  tmpl::Template t;
  try {
    t = tmpl::Template::parse(format);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  tmpl::Options o;
  o.strict = true;
  out::line(t.execute(doc, o));
  return 0;
}

} // namespace

static int system_main(int argc, char **argv) {
  enum { OPT_FORMAT = 1, OPT_VOLUMES };
  auto opts = cli::long_options({{"all", no_argument, nullptr, 'a'},
                                 {"force", no_argument, nullptr, 'f'},
                                 {"volumes", no_argument, nullptr, OPT_VOLUMES},
                                 {"format", required_argument, nullptr, OPT_FORMAT}});
  bool all = false, force = false, volumes = false, format_given = false;
  std::string format;
  std::string shorts = std::string(cli::COMMON_SHORT_ANYWHERE) + "af";
  for (int c; (c = getopt_long(argc, argv, shorts.c_str(), opts.data(), nullptr)) != -1;) {
    if (cli::handle_common(c, optarg))
      continue;
    switch (c) {
    case 'a': all = true; break;
    case 'f': force = true; break;
    case OPT_VOLUMES: volumes = true; break;
    case OPT_FORMAT:
      format = optarg;
      format_given = true;
      break;
    default: cli::bad_option(c, argv);
    }
  }
  std::vector<std::string> words(argv + optind, argv + argc);
  if (words.empty())
    cli::usage_error("COMMAND is missing (df, prune, info or version)");
  const std::string &cmd = words[0];
  bool prune_cmd = cmd == "prune" || cmd == "prune-images";
  if (cmd != "df" && !prune_cmd && cmd != "info" && cmd != "version")
    cli::usage_error(cat("unknown command ", printable(cmd), " (df, prune, info or version)"));
  cli::want_operands(words, 0, "");
  // Each option where it belongs, one rule a line.
  if ((all || force || volumes) && !prune_cmd)
    cli::usage_error(cat("-a, -f and --volumes are options of prune, not of ", cmd));
  if (volumes && cmd == "prune-images")
    cli::usage_error("image prune takes no --volumes");
  if (format_given && prune_cmd)
    cli::usage_error("prune takes no --format");
  if (cmd == "version")
    return show(version_doc(), format, version_text(version_doc()));
  userns::enter(); // rootless: uid 0 in a user namespace of its own (runtime/userns.hpp)
  store::Store store(store_root());
  if (cmd == "df")
    return df(store, format);
  if (prune_cmd)
    return prune(store, all, force, volumes, cmd == "prune-images");
  json::Value doc = info_doc(store);
  return show(doc, format, info_text(doc));
}

int main(int argc, char **argv) {
  return run_tool(argc, argv, "koker-system", USAGE, system_main);
}
