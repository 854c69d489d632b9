// SPDX-License-Identifier: MIT
#pragma once
#include "cgroup/cgroup.hpp"
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::json {
class Value;
}

// An OCI bundle's config.json (the OCI runtime-spec v1.0 to v1.1, its configuration chapters),
// parsed strictly: a member of the wrong type is an Error naming it (json::Fields). What
// koker-oci runs a container from, and what koker-run builds for its own containers.
namespace koker::oci {

struct User {
  uint32_t uid = 0, gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  int resource = 0; // RLIMIT_* from "RLIMIT_NOFILE" etc.
  uint64_t soft = 0, hard = 0;
};

// The five capability sets, as bit masks (caps::Set); unset sets are empty.
struct Capabilities {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0; // consoleSize, with terminal; 0 when unset
  std::vector<std::string> args, env;
  std::string cwd = "/";
  User user;
  Capabilities caps;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile, selinux_label; // recorded, not applied (no LSM here)
};

struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options; // as given
  // options turned into mount(2) terms: flags set and cleared, propagation, data for the fs
  unsigned long flags = 0, clear_flags = 0, propagation = 0;
  bool bind = false, recursive = false;
  std::string data;
  // "rro", "rnosuid", ... (runc's recursive attributes): MOUNT_ATTR_* for mount_setattr(2)
  // with AT_RECURSIVE after the mount; both 0 when none is given.
  uint64_t rec_attr_set = 0, rec_attr_clr = 0;
};

struct Namespace {
  std::string type; // "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"
  std::string path; // join this one when set; else a new one
};

struct IdMapping { // linux.uidMappings, linux.gidMappings: a line of /proc/PID/uid_map
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {           // linux.devices: a node to create
  std::string path, type; // type "c", "b", "u", "p"
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode, uid, gid;
};

// linux.resources, as the cgroup code applies it (cgroup/cgroup.hpp).
using DeviceRule = cgroup::DeviceRule;
using Resources = cgroup::Resources;

// linux.seccomp, as the spec writes it (libseccomp's names, SCMP_ACT_* and SCMP_CMP_*).
struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op; // "SCMP_CMP_EQ", ...
};
struct SeccompRule {
  std::vector<std::string> names;
  std::string action;                // "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", ...
  std::optional<unsigned> errno_ret; // for ERRNO and TRACE
  std::vector<SeccompArg> args;
};
struct Seccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures; // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;         // "SECCOMP_FILTER_FLAG_*"
  std::vector<SeccompRule> syscalls;
};

struct Hook {
  std::string path; // absolute
  std::vector<std::string> args;
  std::optional<std::vector<std::string>> env; // absent: the runtime's own, as runc
  std::optional<int> timeout_s;
};
struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Spec {
  std::string oci_version;
  Process process;
  std::string root_path; // as given; relative to the bundle unless absolute
  bool root_readonly = false;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  // linux
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  Resources resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation; // "", "private", "rprivate", "slave", "rslave", "shared", ...
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;

  bool has_namespace(std::string_view type) const;
  const Namespace *find_namespace(std::string_view type) const;
};

// Parses config.json text; what names it in messages (its path). Throws Error for malformed
// JSON, a wrong type, an unknown capability, rlimit, namespace type, mount option or seccomp
// action, naming the member.
Spec parse_spec(std::string_view text, std::string_view what);
// The same from a document already in memory (koker-run's, built by runtime/run_spec).
Spec spec_from(const json::Value &doc, std::string_view what);

// The "hooks" member of a parsed document: config.json's, or koker-oci's state.json's, which
// keeps them (runtime-spec "Create": later changes to config.json must not affect the
// container). Checked as parse_spec checks them; what names the document in messages.
Hooks parse_hooks(const json::Value &doc, std::string_view what);

// "RLIMIT_NOFILE" for RLIMIT_NOFILE (the config's name), for traces.
std::string rlimit_name(int resource);

// A linux.resources object alone, as `runc update --resources FILE` reads it; checked the
// same way, named by what.
Resources parse_resources(std::string_view text, std::string_view what);

// A process.json alone, as `runc exec --process FILE` reads it: the "process" member of a
// config.json, checked the same way.
Process parse_process(std::string_view text, std::string_view what);

// The spec `runc spec` writes, for `koker-oci spec`: a root at "rootfs", "sh" on a terminal,
// runc's default mounts, masks, capabilities and namespaces.
std::string default_spec_json();

} // namespace koker::oci
