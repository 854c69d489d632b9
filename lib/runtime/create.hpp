// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include "image/image.hpp"
#include "runtime/init.hpp"
#include "store/container.hpp"
#include "store/container_log.hpp"
#include "store/store.hpp"
#include <string>
#include <vector>

// A new container from an image and what koker-run's command line asked for: its record (the
// image config overlaid with the options, docker's rules), the spec its first process builds
// the container from, and its /etc files.
namespace koker::create {

// koker-run's options, parsed and checked (src/run_options.cpp).
struct Options {
  std::string image; // reference, ID, prefix, or "-"
  std::vector<std::string> command;
  bool detach = false, auto_remove = false, interactive = false, tty = false;
  bool read_only = false, no_new_privileges = false;
  bool has_entrypoint = false;
  std::string name, hostname, workdir, user, entrypoint, network = "bridge", cidfile;
  std::vector<std::string> env, volumes, publish, cap_add, cap_drop;
  cgroup::Limits limits;
  container_log::Limits log;
  bool log_max_files_given = false;
};

// "HOST:PATH[:ro|rw]" with absolute paths, no "..", and PATH not "/"; throws Error otherwise.
rootfs::Volume parse_volume(const std::string &spec);

// The record: the image config overlaid with the options. Throws Error for a config with no
// command when none is given, or a relative working directory.
container::Record make_record(const Options &o, const store::ImageRecord &img,
                              const image::Config &cfg);
// Warns, as docker does, when the image was built for another OS or architecture than the
// host's (it may still run, through binfmt_misc).
void warn_if_foreign(const image::Config &cfg);
// What the child needs to build the container in dir (containers/<id>, holding upper/ and
// work/). Makes a missing volume source, as docker does.
init::Spec make_spec(const Options &o, const container::Record &rec, const store::Store &store,
                     const store::ImageRecord &img, const std::string &dir);
// The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written into dir (new, and
// private to koker: no temporary names needed); the child binds them in.
void write_etc_files(const std::string &dir, const container::Record &rec);

} // namespace koker::create
