// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include "image/image.hpp"
#include "base/sys.hpp"
#include "runtime/launch.hpp"
#include "runtime/mount_spec.hpp"
#include "runtime/rootfs.hpp"
#include "store/container.hpp"
#include "store/container_log.hpp"
#include "store/store.hpp"
#include <optional>
#include <string>
#include <utility>
#include <vector>

// A new container from an image and what koker-run's command line asked for: its record (the
// image config overlaid with the options, docker's rules), its /etc files and its OCI bundle
// (containers/<id>/bundle: config.json and the root mounted on rootfs/), which the engine runs.
namespace koker::create {

// koker-run's options, parsed and checked (src/run_options.cpp).
struct Options {
  std::string image; // reference, ID, prefix, or "-"
  std::vector<std::string> command;
  bool detach = false, auto_remove = false, interactive = false, tty = false;
  bool read_only = false, no_new_privileges = false;
  bool has_entrypoint = false;
  // network: bridge, none, host or the first user-defined network's name (as docker's
  // NetworkMode); networks: every --network as given; ip and network_aliases: the first
  // user-defined network's --ip, --ip6 and --network-alias.
  std::string name, hostname, workdir, user, entrypoint, network = "bridge", cidfile;
  std::vector<std::string> networks, network_aliases;
  std::string ip, ip6;
  std::vector<std::string> env, volumes, publish, cap_add, cap_drop;
  cgroup::Limits limits;
  container_log::Limits log;
  bool log_max_files_given = false;
  // --restart no|on-failure[:N]|always|unless-stopped
  std::string restart_policy = "no";
  int restart_max = 0;
  // docker run's flags of issue 16 point 4 (checked by run_options, made by run_spec); the
  // strings as given, each parsed by runtime/run_flags.
  bool init = false, privileged = false, publish_all = false;
  std::vector<std::string> add_hosts, dns, dns_search, ulimits, devices, group_add;
  std::vector<std::pair<std::string, std::string>> sysctls; // in the order given
  std::string seccomp;      // --security-opt seccomp=: "", "unconfined" or the file's text
  std::string stop_signal;  // as given ("SIGUSR1"); "": the image's, else SIGTERM
  std::optional<int> stop_timeout;
  uint64_t shm_size = 0;    // bytes; 0: docker's 64 MiB
  std::string platform;     // --platform, for the pull; "": the host's
  std::string pull = "missing"; // --pull always|missing|never
  // Listing: -l/--label K=V and --label-file, over the image's labels.
  std::map<std::string, std::string> labels;
  // -v, --mount and --tmpfs (issue 16.2), parsed, in command-line order
  std::vector<mount_spec::Spec> mounts;
};

// The image's layers as overlay lowerdirs, top first, relative to the store's layers/ (the
// shared init layer on top when the image's /etc is a directory); Error for a missing layer.
std::vector<std::string> lower_layers(const store::Store &store, const store::ImageRecord &img);
// The overlay of rec's image on containers/<id>/bundle/rootfs: lower_layers, the container's
// upper/ and work/, volatile for a --rm container. Error when the image is gone.
rootfs::Overlay overlay_of(const store::Store &store, const container::Record &rec);

// The record: the image config overlaid with the options. Throws Error for a config with no
// command when none is given, a relative working directory, or an image VOLUME that is not
// a clean absolute path. Its Mounts: the options' and an anonymous volume for each VOLUME of
// the image no option mounts over (docker's rule).
container::Record make_record(const Options &o, const store::ImageRecord &img,
                              const image::Config &cfg);
// Warns, as docker does, when the image was built for another OS or architecture than the
// host's (it may still run, through binfmt_misc).
void warn_if_foreign(const image::Config &cfg);
// The image o names, pulled when missing as --pull and --platform say, and its config, with
// warn_if_foreign's warning: the first step of koker-run and koker-create alike.
struct Source {
  store::ImageRecord image;
  image::Config config;
};
Source resolve_image(const Options &o, store::Store &store);
// containers/<id>, holding a claim on the image until the record is saved, with the overlay's
// upper/ and work/, and bundle/rootfs/ to mount it on; removed again by undo.
std::string make_dir(const store::Store &store, const container::Record &rec, sys::Rollback &undo);
// Claims rec's name (a generated one when it has none, set in rec), released again by undo.
void claim_name(const std::string &root, container::Record &rec, sys::Rollback &undo);
// Saves the record, which from now on holds the image for the container (the claim of
// make_dir goes).
void commit_record(const std::string &root, const container::Record &rec);
// --cidfile: the ID into a new file.
void write_cidfile(const std::string &path, const std::string &id);

// A container's OCI bundle: what the engine runs, and its config.json to write.
struct Bundle {
  launch::Container container; // the config, parsed, and the init's options
  json::Value config;
  std::string config_path; // containers/<id>/bundle/config.json
};
// Makes dir/bundle an OCI bundle (dir: containers/<id>, holding upper/, work/, bundle/rootfs/):
// builds its config from o and rec (the user looked up in the image's own /etc files:
// runtime/image_user); makes a missing -v source, as docker does; gives the container its
// volumes (made when missing) and fills each empty one from the image's content at its path
// (docker's copy-up). It reads the image's root through root_fd when mount_root mounted it
// here (rootless koker), else in a child that mounts it in a mount namespace of its own
// (container_root::in_private_mount), or not at all when the store's cache knows the user and
// no volume needs filling: as root, the root is mounted by the container's init, in the
// container's own mount namespace, and the host never has it. Undo steps go to undo.
Bundle make_bundle(const Options &o, const container::Record &rec, const store::Store &store,
                   const store::ImageRecord &img, const std::string &dir, int root_fd,
                   sys::Rollback &undo);
// Writes b's config.json (shown by -D). koker-run does it once the container's process exists,
// while that process mounts its root: the config is in memory already, and the file is for
// the people and tools who read the bundle, not for the engine.
void write_config(const Bundle &b);

// The start-time part, at every start of a container (koker-run's first, koker-start's, the
// supervisor's restarts): takes down a root left mounted on bundle/rootfs, then, rootless,
// mounts the root there, in koker's own mount namespace, with an undo step, and returns it
// (O_PATH); as root it returns nothing, the container's init mounting the root in its own mount
// namespace (the bundle's launch options: make_bundle, read_bundle).
Fd mount_root(const store::Store &store, const container::Record &rec, sys::Rollback &undo);
// Writes the /etc files the container binds (hosts without its address yet, which write_hosts
// adds); fresh: dir is new (koker-run), no file to replace.
void write_etc_files(const std::string &dir, const container::Record &rec, bool fresh);
// The bundle of a created or stopped container, as its config.json says (koker-start): the
// seccomp program of docker's default profile comes from the store's cache, as koker-run's,
// when the config's annotation org.koker.seccomp says it is that profile (its text is not
// parsed again). Its init mounts the root as root (mount_root mounts it first, rootless).
Bundle read_bundle(const store::Store &store, const container::Record &rec);
// Rewrites dir/hosts in place (the container has it bound already) once rec has its address.
void write_hosts(const std::string &dir, const container::Record &rec);

} // namespace koker::create
