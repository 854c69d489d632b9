// SPDX-License-Identifier: MIT
#include "runtime/create.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "base/main.hpp"
#include "image/resolve.hpp"
#include "net/address.hpp"
#include "net/net.hpp"
#include "net/network.hpp"
#include "net/usermode.hpp"
#include "runtime/caps.hpp"
#include "runtime/container_root.hpp"
#include "runtime/copy_up.hpp"
#include "runtime/image_user.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/run_flags.hpp"
#include "runtime/mounts.hpp"
#include "runtime/oci_seccomp.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/process.hpp"
#include "runtime/run_spec.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/user.hpp"
#include "runtime/userns.hpp"
#include "store/volume.hpp"
#include <fcntl.h>
#include <algorithm>
#include <sys/stat.h>

namespace koker::create {

namespace {

// The host's resolv.conf, or systemd-resolved's real one when the host's only names the
// 127.0.0.53 stub (unreachable from the container's network namespace).
std::string host_resolv_conf() {
  std::string conf = sys::read_file_if_exists("/etc/resolv.conf", 64 << 10).value_or("");
  bool stub_only = conf.find("nameserver 127.") != std::string::npos &&
                   conf.find("nameserver ") == conf.find("nameserver 127.");
  if (stub_only)
    if (auto real = sys::read_file_if_exists("/run/systemd/resolve/resolv.conf", 64 << 10))
      return *real;
  return conf;
}

} // namespace

// The image's layers as overlay lowerdirs, top first, relative to layers/; the shared init
// layer on top of them when the image's /etc is a directory.
std::vector<std::string> lower_layers(const store::Store &store, const store::ImageRecord &img) {
  std::vector<std::string> lower;
  // The image's /etc as overlayfs will show it: the topmost layer holding an entry decides.
  // Over a symlink or file there, the init layer's directory would hide it, so such an image
  // goes without (its mount points are then made in the upper layer, as before).
  std::string etc_kind = "none";
  for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
    if (!store.has_layer(*it))
      fail("the store lacks layer ", *it, " of image ", img.id, ": pull the image again");
    lower.push_back(digest::hex_of(*it) + "/diff");
    struct stat st;
    std::string etc = store.layer_dir(*it) + "/diff/etc";
    if (etc_kind == "none" && ::lstat(etc.c_str(), &st) == 0)
      etc_kind = S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) ? "dir" : "other"; // CHR: whiteout
  }
  if (etc_kind != "other") {
    store.init_layer();
    lower.insert(lower.begin(), "../init"); // relative to layers/, as the others
  } else {
    log::debug("the image's /etc is not a directory: no init layer");
  }
  return lower;
}

namespace {

// The image's config member (docker's "config": StopSignal, ExposedPorts, ...).
json::Fields image_config(const image::Config &cfg) {
  json::Fields all(&cfg.doc, "image config");
  return all.object("config");
}

// -P: every port the image exposes ("80/tcp", "53/udp", "8080") that -p does not publish
// already, on a host port the kernel draws, as docker's PublishAllPorts.
void publish_exposed(container::Record &r, const image::Config &cfg) {
  const json::Value *exposed = image_config(cfg).find("ExposedPorts");
  if (!exposed || !exposed->is_object())
    return;
  for (const auto &[key, value] : exposed->members()) {
    (void)value;
    size_t slash = key.find('/');
    net::Port p;
    p.proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    auto port = sys::parse_uint(key.substr(0, slash));
    if (!port || *port == 0 || *port > 65535 || (p.proto != "tcp" && p.proto != "udp")) {
      log::warn("-P: the image's exposed port ", printable(key), " is not PORT[/tcp|udp]: skipped");
      continue;
    }
    p.port = static_cast<uint16_t>(*port);
    bool published = false;
    for (const auto &given : r.publish) {
      net::Port q = net::parse_port(given);
      published = published || (q.port == p.port && q.proto == p.proto);
    }
    if (published)
      continue;
    p.host_port = net::free_host_port(p.proto);
    r.publish.push_back(net::port_string(p));
  }
}

// The record's part of issue 16 point 4: the flags as docker inspect shows them.
void add_run_flags(container::Record &r, const Options &o, const image::Config &cfg) {
  r.init = o.init;
  r.privileged = o.privileged;
  r.publish_all = o.publish_all;
  r.shm_size = static_cast<int64_t>(o.shm_size);
  r.dns = o.dns;
  r.dns_search = o.dns_search;
  r.extra_hosts = o.add_hosts;
  r.group_add = o.group_add;
  for (const auto &d : o.devices)
    r.devices.push_back(run_flags::parse_device(d));
  for (const auto &u : o.ulimits)
    r.ulimits.push_back(run_flags::parse_ulimit(u));
  r.sysctls = o.sysctls;
  r.seccomp = o.seccomp;
  r.stop_timeout = o.stop_timeout;
  r.stop_signal = o.stop_signal;
  // docker: the image's STOPSIGNAL unless --stop-signal; a bad one is the image's mistake.
  if (std::string image_signal = image_config(cfg).string("StopSignal");
      r.stop_signal.empty() && !image_signal.empty()) {
    try {
      lifecycle::parse_signal(image_signal);
      r.stop_signal = image_signal;
    } catch (const Error &) {
      log::warn("the image's StopSignal ", printable(image_signal), " is not a signal: SIGTERM");
    }
  }
  if (o.publish_all)
    publish_exposed(r, cfg);
}

// Volumes, binds and tmpfs (issue 16.2): the options' mounts, then an anonymous volume for
// each of the image's VOLUMEs that none of them covers, sorted as docker sorts them (by
// depth, so that /a is mounted before /a/b).
std::vector<container::MountPoint> make_mounts(const Options &o, const image::Config &cfg) {
  std::vector<mount_spec::Spec> specs = o.mounts;
  json::Fields config(cfg.doc.find("config"), "image config");
  if (const json::Value *volumes = config.find("Volumes"); volumes && volumes->is_object()) {
    // untrusted paths (CVE-2022-23648): each checked as a -v target is
    for (const auto &[path, ignored] : volumes->members()) {
      mount_spec::Spec s;
      try {
        s = mount_spec::parse_volume(path);
      } catch (const Error &e) {
        fail("invalid VOLUME ", printable(path), " in the image config: ", e.what());
      }
      if (s.type != "volume" || !s.source.empty())
        fail("invalid VOLUME ", printable(path), " in the image config: not a path");
      bool covered = std::any_of(specs.begin(), specs.end(),
                                 [&](const auto &m) { return m.target == s.target; });
      if (!covered)
        specs.push_back(s);
    }
  }
  std::stable_sort(specs.begin(), specs.end(), [](const auto &a, const auto &b) {
    return std::count(a.target.begin(), a.target.end(), '/') <
           std::count(b.target.begin(), b.target.end(), '/');
  });
  std::vector<container::MountPoint> list;
  for (const auto &s : specs) {
    container::MountPoint m;
    m.type = s.type;
    m.destination = s.target;
    m.rw = !s.read_only;
    m.mode = s.read_only ? "ro" : "";
    m.nocopy = s.nocopy;
    if (s.type == "volume") {
      m.anonymous = s.source.empty();
      m.name = m.anonymous ? sys::random_hex(32) : s.source;
      m.source = volume::data_path(store_root(), m.name);
    } else if (s.type == "bind") {
      m.source = s.source;
      m.propagation = "rprivate";
    } else {
      m.options = s.tmpfs_options;
    }
    list.push_back(std::move(m));
  }
  return list;
}

} // namespace

container::Record make_record(const Options &o, const store::ImageRecord &img,
                              const image::Config &cfg) {
  const cgroup::Limits &limits = o.limits;
  container::Record r;
  r.id = sys::random_hex(32);
  r.name = o.name;
  r.created = sys::now_rfc3339();
  r.image_id = img.id;
  r.image = o.image == "-" ? img.id : o.image;
  r.env = cfg.env;
  bool has_path = false;
  for (const auto &e : r.env)
    has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path)
    r.env.insert(r.env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  r.network_mode = o.network;
  if (o.network != "bridge" && o.network != "none" && o.network != "host" &&
      !net::usermode::is_usermode(o.network))
    for (const auto &name : o.networks) {
      auto found = net::find_network(store_root(), name);
      if (!found)
        fail("network ", name, " not found");
      container::Endpoint e;
      e.network = found->name;
      e.network_id = found->id;
      if (r.networks.empty()) { // docker: --ip and --network-alias are the first network's
        e.requested_ip = o.ip;
        e.requested_ip6 = o.ip6;
        e.aliases = o.network_aliases;
      }
      r.networks.push_back(std::move(e));
    }
  r.hostname = !o.hostname.empty() ? o.hostname
               : o.network == "host" ? sys::read_file("/proc/sys/kernel/hostname", 256)
                                     : r.id.substr(0, 12);
  while (!r.hostname.empty() && r.hostname.back() == '\n')
    r.hostname.pop_back();
  process::set_env(r.env, "HOSTNAME=" + r.hostname);
  if (o.tty)
    process::set_env(r.env, "TERM=xterm");
  for (const auto &e : o.env) {
    process::apply_env_option(r.env, e);
  }
  r.entrypoint = o.has_entrypoint ? (o.entrypoint.empty() ? std::vector<std::string>{}
                                                          : std::vector<std::string>{o.entrypoint})
                                  : cfg.entrypoint;
  // docker: a new entrypoint drops the image's Cmd; arguments replace it.
  r.cmd = !o.command.empty() ? o.command
          : o.has_entrypoint ? std::vector<std::string>{}
                             : cfg.cmd;
  std::vector<std::string> argv = r.entrypoint;
  argv.insert(argv.end(), r.cmd.begin(), r.cmd.end());
  if (argv.empty())
    fail("no command specified: the image has none and none was given");
  r.path = argv[0];
  r.args.assign(argv.begin() + 1, argv.end());
  r.workdir = !o.workdir.empty() ? o.workdir : cfg.working_dir;
  if (!r.workdir.empty() && r.workdir[0] != '/')
    fail("the working directory ", printable(r.workdir), " is not an absolute path");
  r.user = !o.user.empty() ? o.user : cfg.user;
  r.tty = o.tty;
  r.open_stdin = o.interactive;
  // docker sets StdinOnce when stdin is attached (run -i; koker-create sets it for create -i),
  // not for run -d -i: the stdin of a detached -i container stays open across attaches.
  r.stdin_once = o.interactive && !o.detach;
  r.read_only = o.read_only;
  r.auto_remove = o.auto_remove;
  r.no_new_privileges = o.no_new_privileges;
  r.binds = o.volumes;
  r.cap_add = o.cap_add;
  r.cap_drop = o.cap_drop;
  r.publish = o.publish;
  r.memory = static_cast<int64_t>(limits.memory.value_or(0));
  r.memory_swap = limits.memory ? static_cast<int64_t>(*limits.memory + limits.swap.value_or(*limits.memory)) : 0;
  r.nano_cpus = static_cast<int64_t>(limits.nano_cpus.value_or(0));
  r.pids_limit = static_cast<int64_t>(limits.pids.value_or(0));
  r.log_max_size = o.log.max_size;
  r.log_max_files = o.log.max_files;
  r.restart_policy = o.restart_policy;
  r.restart_max = o.restart_max;
  add_run_flags(r, o, cfg);
  // docker: the image's labels, then the container's own on top.
  r.labels = cfg.labels;
  for (const auto &[k, v] : o.labels)
    r.labels[k] = v;
  r.mounts = make_mounts(o, cfg); // issue 16.2
  return r;
}

namespace {

// --add-host's lines come after the defaults and before the container's own, as docker
// writes them; host-gateway is the bridge's gateway (docker: the default bridge's).
std::string hosts_text(const container::Record &rec) {
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto &entry : rec.extra_hosts) {
    auto [host, ip] = run_flags::parse_add_host(entry);
    if (ip == "host-gateway")
      ip = net::ip_string(net::from_env(store_root()).subnet.gateway());
    hosts += cat(ip, "\t", host, "\n");
  }
  if (!rec.ip_address.empty())
    hosts += cat(rec.ip_address, "\t", rec.hostname, rec.name.empty() ? "" : " " + rec.name, "\n");
  return hosts;
}

// docker's resolv.conf: the host's, its nameservers replaced by --dns and its search line by
// --dns-search ("." alone: none), its options kept.
// On a user-defined network the only nameserver is the network's resolver on its gateway
// (net/dns.hpp), which forwards what it does not know to --dns or the host's nameservers.
std::string resolv_conf_text(const container::Record &rec) {
  std::string host = host_resolv_conf();
  std::vector<std::string> servers = rec.dns;
  // A user-mode helper's DNS forwarder, unless --dns names servers (reached through it).
  if (servers.empty() && net::usermode::is_usermode(rec.network_mode))
    servers = {net::usermode::nameserver(net::usermode::parse(rec.network_mode))};
  if (!rec.networks.empty()) {
    auto n = net::find_network(store_root(), rec.networks[0].network);
    if (!n)
      fail("network ", rec.networks[0].network, " not found");
    servers = {n->gateway};
  }
  if (servers.empty() && rec.dns_search.empty())
    return host;
  std::string out;
  for (const auto &line : text::split(host, '\n')) {
    auto words = text::fields(line, ' ');
    bool server = !words.empty() && words[0] == "nameserver";
    bool search = !words.empty() && (words[0] == "search" || words[0] == "domain");
    if ((server && !servers.empty()) || (search && !rec.dns_search.empty()) || line.empty())
      continue;
    out += line + "\n";
  }
  for (const auto &ip : servers)
    out += "nameserver " + ip + "\n";
  std::string search;
  for (const auto &d : rec.dns_search)
    if (d != ".")
      search += " " + d;
  if (!search.empty())
    out += "search" + search + "\n";
  return out;
}

// Gives the container its volumes, making the missing ones (an anonymous one is always new);
// undone: taken back, and removed when made here.
void claim_volumes(const std::string &root, const container::Record &rec, sys::Rollback &undo) {
  for (const auto &m : rec.mounts) {
    if (m.type != "volume")
      continue;
    volume::Labels labels;
    if (m.anonymous)
      labels.emplace_back(volume::ANONYMOUS_LABEL, "");
    bool made = volume::claim(root, m.name, rec.id, labels);
    undo.add("release volume " + m.name, [root, name = m.name, id = rec.id, made] {
      volume::release(root, name, id);
      if (made)
        volume::remove(root, name);
    });
  }
}

// A mount docker's copy-up fills when empty: a volume without nocopy.
bool copies_up(const container::MountPoint &m) { return m.type == "volume" && !m.nocopy; }

// docker's copy-up: each empty volume gets the image's content at its path.
void fill_volumes(const std::string &root, int root_fd, const container::Record &rec) {
  for (const auto &m : rec.mounts)
    if (copies_up(m)) {
      sys::FileLock lock = volume::lock_content(root, m.name);
      copy_up::fill_if_empty(root_fd, m.destination, m.source);
    }
}

} // namespace

namespace {

// The overlay of rec's image layers on dir/bundle/rootfs.
rootfs::Overlay overlay_of(const store::Store &store, const store::ImageRecord &img,
                           const std::string &dir, bool auto_remove) {
  rootfs::Overlay overlay;
  overlay.mount_point = dir + "/bundle/rootfs";
  overlay.layers_dir = store.root() + "/layers";
  overlay.lower = lower_layers(store, img);
  overlay.upper = dir + "/upper";
  overlay.work = dir + "/work";
  overlay.volatile_upper = auto_remove;
  return overlay;
}

Fd mount_overlay(const rootfs::Overlay &overlay, sys::Rollback &undo) {
  Fd root = rootfs::mount_overlay(overlay);
  undo.add("umount " + overlay.mount_point, [mp = overlay.mount_point] { sys::unmount(mp); });
  return root;
}

// Root koker's roots are mounted by the init, in the container's new mount namespace; rootless
// koker's by koker itself, in the mount namespace it has of its own already, before the clone
// (fuse-overlayfs, where the kernel refuses overlayfs to a user namespace, leaves a helper
// process that must not live in the container's pid namespace).
bool init_mounts_root() { return !userns::inside(); }

// The launch options every koker container's init gets (koker-run's and koker-start's).
void set_init_options(launch::Container &c, const rootfs::Overlay &overlay, bool interactive) {
  c.init.rootfs = overlay.mount_point;
  if (init_mounts_root())
    c.init.mount_root = [overlay] { rootfs::mount_overlay(overlay); };
  c.init.stdin_null = !interactive;
  c.init.die_with_parent = true;
  c.init.report_exec = true;
}

// Whether fill_volumes has a volume to fill (it reads the image's root for each).
bool has_volumes_to_fill(const container::Record &rec) {
  return std::any_of(rec.mounts.begin(), rec.mounts.end(), copies_up);
}

// The user rec names, and docker's copy-up of its new volumes: read from root_fd when the root
// is mounted here (rootless), else from the cache when it knows the user and no volume needs
// filling, else in a child that mounts the root in a mount namespace of its own.
user::Identity read_image_root(const store::Store &store, const store::ImageRecord &img,
                               const rootfs::Overlay &overlay, const container::Record &rec,
                               int root_fd) {
  if (root_fd >= 0) {
    fill_volumes(store.root(), root_fd, rec);
    return image_user::look_up(root_fd, rec.user, rec.group_add);
  }
  const std::string cache = store.root() + "/cache";
  std::optional<user::Identity> known = image_user::cached(cache, img.id, rec.user, rec.group_add);
  bool fill = has_volumes_to_fill(rec);
  if (known && !fill)
    return *known;
  std::string text = container_root::in_private_mount(overlay, [&](int root) {
    if (fill)
      fill_volumes(store.root(), root, rec);
    return image_user::encode(known ? *known : image_user::look_up(root, rec.user, rec.group_add));
  });
  std::optional<user::Identity> id = image_user::decode(text);
  if (!id)
    fail("unable to read the user of the new container from the child that looked it up");
  if (!known)
    image_user::remember(cache, img.id, rec.user, rec.group_add, *id);
  return *id;
}

// The annotation saying linux.seccomp is docker's default profile for the process's
// bounding capabilities, so that a start takes its program from the cache.
constexpr const char *SECCOMP_NOTE = "org.koker.seccomp";

} // namespace

Bundle make_bundle(const Options &o, const container::Record &rec, const store::Store &store,
                   const store::ImageRecord &img, const std::string &dir, int root_fd,
                   sys::Rollback &undo) {
  for (const auto &m : o.mounts)
    if (m.type == "bind" && !sys::exists(m.source)) {
      if (!m.from_volume_flag) // docker makes a missing source for -v only
        fail("invalid mount config for type \"bind\": bind source path does not exist: ",
             printable(m.source));
      log::debug("mkdir -p ", m.source, " (a missing volume source, as docker)");
      sys::mkdir_p(m.source, 0755);
    }
  claim_volumes(store.root(), rec, undo);
  rootfs::Overlay overlay = overlay_of(store, img, dir, o.auto_remove);
  user::Identity user = read_image_root(store, img, overlay, rec, root_fd);

  // --privileged: every capability koker holds, --cap-add and --cap-drop aside, as docker
  caps::Set held = o.privileged ? caps::held_bounding() : caps::adjust(caps::default_set(), o.cap_add, o.cap_drop);
  run_spec::Inputs in{o, rec, std::move(user), held, dir};
  if (o.init) {
    in.init_path = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-init";
    if (!sys::exists(in.init_path))
      fail("--init: ", in.init_path, " is missing (koker-init is built beside koker-run)");
  }
  Bundle b{{}, run_spec::config(in), dir + "/bundle/config.json"};
  // The engine runs what the file will say, read as koker-oci reads a bundle's config.json;
  // all but the seccomp profile, whose program comes from the store's cache (built from the
  // same tables, with the profile's text beside it): the engine would parse four hundred
  // names only to build the same program again.
  launch::Container &c = b.container;
  if (o.privileged || o.seccomp == "unconfined") {
    log::debug("no seccomp filter (", o.privileged ? "--privileged" : "seccomp=unconfined", ")");
    c.spec = oci::spec_from(b.config, b.config_path);
  } else if (!o.seccomp.empty()) {
    // --security-opt seccomp=FILE: docker's format made the config's, then built from there
    // as koker-oci builds any config's (one filter builder)
    if (json::Value *l = b.config.find("linux"))
      l->set("seccomp", run_flags::seccomp_from_docker(o.seccomp, held, "the seccomp profile"));
    c.spec = oci::spec_from(b.config, b.config_path);
    c.init.filter = oci::build_filter(*c.spec.seccomp);
  } else {
    c.spec = oci::spec_from(b.config, b.config_path);
    // Docker's profile for these capabilities: built once per store.
    c.init.filter = seccomp::cached_default(held, store.root() + "/cache");
    run_spec::add_seccomp(b.config, std::move(c.init.filter.profile));
    if (json::Value *notes = b.config.find("annotations"))
      notes->set(SECCOMP_NOTE, "default");
  }
  set_init_options(c, overlay, o.interactive);
  return b;
}

std::string make_dir(const store::Store &store, const container::Record &rec, sys::Rollback &undo) {
  std::string dir = store.create_container_dir(rec.id, rec.image_id);
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  log::debug("mkdir ", dir, "/{upper,work,bundle,bundle/rootfs}");
  for (const char *sub : {"/upper", "/work", "/bundle", "/bundle/rootfs"})
    check(::mkdir((dir + sub).c_str(), 0755), "unable to create ", dir, sub);
  return dir;
}

void claim_name(const std::string &root, container::Record &rec, sys::Rollback &undo) {
  if (rec.name.empty())
    rec.name = container::claim_generated_name(root, rec.id);
  else
    container::claim_name(root, rec.name, rec.id);
  undo.add("release the name " + rec.name,
           [root, name = rec.name] { container::release_name(root, name); });
}

void commit_record(const std::string &root, const container::Record &rec) {
  container::save(root, rec);
  // The record now holds the image for the container: the claim has done its job.
  ::unlink((container::dir_of(root, rec.id) + "/creating").c_str());
}

void write_cidfile(const std::string &path, const std::string &id) {
  log::debug("write ", path, " (--cidfile)");
  Fd cid(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!cid)
    sys_fail("unable to create the cidfile ", path);
  sys::write_fd(cid.get(), id, path);
}

void write_config(const Bundle &b) {
  std::string text = b.config.dump(1);
  log::debug("write ", b.config_path, ":\n", text);
  sys::write_new_file(b.config_path, text);
}

rootfs::Overlay overlay_of(const store::Store &store, const container::Record &rec) {
  auto img = store.find_image(rec.image_id);
  if (!img)
    fail("the image ", rec.image_id.substr(0, 19), " of container ", rec.id.substr(0, 12),
         " is gone from the store");
  return overlay_of(store, *img, container::dir_of(store.root(), rec.id), rec.auto_remove);
}

Fd mount_root(const store::Store &store, const container::Record &rec, sys::Rollback &undo) {
  std::string mount_point = container::dir_of(store.root(), rec.id) + "/bundle/rootfs";
  // A root left mounted here (by an earlier koker, which mounted roots on the host, or by a
  // rootless supervisor killed before it could unmount it) is taken down first: a second
  // overlay on the same upper directory is refused by the kernel.
  if (sys::is_mount_point(mount_point))
    sys::unmount(mount_point);
  if (init_mounts_root())
    return Fd();
  return mount_overlay(overlay_of(store, rec), undo);
}

void write_etc_files(const std::string &dir, const container::Record &rec, bool fresh) {
  // Replaced whole when they exist: no container binds them while it is not running.
  auto write = [fresh](const std::string &path, const std::string &text) {
    if (fresh)
      sys::write_new_file(path, text);
    else
      sys::write_file_atomic(path, text, 0644, false);
  };
  log::debug("write ", dir, "/{hostname,hosts,resolv.conf}");
  write(dir + "/hostname", rec.hostname + "\n");
  write(dir + "/hosts", hosts_text(rec));
  write(dir + "/resolv.conf", resolv_conf_text(rec));
}

Bundle read_bundle(const store::Store &store, const container::Record &rec) {
  std::string dir = container::dir_of(store.root(), rec.id);
  Bundle b{{}, {}, dir + "/bundle/config.json"};
  log::debug("read ", b.config_path);
  b.config = json::parse(sys::read_file(b.config_path, 16 << 20), b.config_path);
  json::Value *notes = b.config.find("annotations");
  json::Value *linux = b.config.find("linux");
  bool default_profile = notes && notes->get_string(SECCOMP_NOTE) == "default" && linux &&
                         linux->find("seccomp");
  if (default_profile)
    linux->set("seccomp", json::Value::object()); // no filter to parse: the cache has it
  launch::Container &c = b.container;
  c.spec = oci::spec_from(b.config, b.config_path);
  if (default_profile)
    c.init.filter = seccomp::cached_default(c.spec.process.caps.bounding, store.root() + "/cache");
  else if (c.spec.seccomp) // another profile: built as koker-oci builds any config's
    c.init.filter = oci::build_filter(*c.spec.seccomp);
  set_init_options(c, overlay_of(store, rec), rec.open_stdin);
  return b;
}

void write_hosts(const std::string &dir, const container::Record &rec) {
  // In place, not renamed: the container's /etc/hosts is a bind of this very inode.
  std::string path = dir + "/hosts";
  Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd)
    sys_fail("unable to open ", path);
  log::debug("write ", path, " (the container's address)");
  sys::write_fd(fd.get(), hosts_text(rec), path);
}

Source resolve_image(const Options &o, store::Store &store) {
  store::ImageRecord img = image::find_or_pull(store, o.image, o.pull, o.platform);
  auto config_body = store.read_blob(img.id, image::max_config_size);
  if (!config_body)
    fail("unable to read the config of image ", img.id);
  Source src{std::move(img), image::parse_config(*config_body)};
  warn_if_foreign(src.config);
  return src;
}

void warn_if_foreign(const image::Config &cfg) {
  image::Platform host = image::Platform::host();
  if ((!cfg.os.empty() && cfg.os != host.os) || (!cfg.arch.empty() && cfg.arch != host.arch))
    log::warn("the image's platform (", printable(cfg.os), "/", printable(cfg.arch),
              cfg.variant.empty() ? "" : "/", printable(cfg.variant),
              ") does not match the host's (", host.str(), ")");
}

} // namespace koker::create
