// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include "base/sys.hpp"
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A container's record: KOKER_ROOT/containers/<id>/config.json, in the shape of docker
// inspect (Id, Name, State, Config, HostConfig, NetworkSettings), replaced atomically. Names
// are claimed race-free as KOKER_ROOT/names/<name> (O_EXCL), like CNI's one file per address.
namespace koker::container {

// HostConfig.Devices and Ulimits entries, in docker's shape.
struct DeviceMapping {
  std::string path_on_host, path_in_container, cgroup_permissions = "rwm";
};
struct Ulimit {
  std::string name; // "nofile"
  int64_t soft = 0, hard = 0; // -1: unlimited
};

// Volumes, binds and tmpfs (issue 16.2): one of docker inspect's Mounts[].
struct MountPoint {
  std::string type;        // "volume", "bind" or "tmpfs"
  std::string name;        // a volume's name
  std::string source;      // a bind's host path, a volume's _data; "" for tmpfs
  std::string destination; // absolute, in the container
  std::string mode;        // "ro" or "" (docker's Mode)
  bool rw = true;
  std::string propagation; // "rprivate" for binds
  std::string options;     // tmpfs: "size=...,mode=..." (HostConfig.Tmpfs)
  bool anonymous = false;  // a volume made for this container: rm -v and --rm remove it
  bool nocopy = false;     // volume-nocopy: no copy of the image's content into it
};

// A container's place on a user-defined network: docker inspect's
// NetworkSettings.Networks[<name>], in the order the container joined them (eth0, eth1, ...).
struct Endpoint {
  std::string network, network_id;      // the network's name and ID
  std::string requested_ip;             // --ip / connect --ip (IPAMConfig.IPv4Address)
  std::string requested_ip6;            // --ip6 / connect --ip6 (IPAMConfig.IPv6Address)
  std::vector<std::string> aliases;     // --network-alias / connect --alias
  std::string ip_address, gateway, mac; // while attached
  int prefix = 0;
  std::string ip6_address, gateway6; // on a network with IPv6, while attached
  int prefix6 = 0;
};

struct Record {
  std::string id, name, created;
  std::string image_id, image; // the image's ID and the name the user gave
  std::string path;            // the process: path and arguments
  std::vector<std::string> args;
  // Config
  std::string hostname, user, workdir;
  std::vector<std::string> env, cmd, entrypoint;
  bool tty = false, open_stdin = false;
  bool stdin_once = false; // docker's StdinOnce: the first attacher's end of input ends stdin
  std::map<std::string, std::string> labels; // Config.Labels: the image's, then -l's
  // HostConfig
  std::string network_mode = "bridge";
  bool read_only = false, auto_remove = false, no_new_privileges = false;
  std::vector<std::string> binds, cap_add, cap_drop, publish;
  int64_t memory = 0, memory_swap = 0, nano_cpus = 0, pids_limit = 0;
  // Rootless on cgroup v2: the delegated subtree its group koker/ID was made in (docker's
  // HostConfig.CgroupParent, only written when set), so that a later tool run from outside
  // it (a login session) opens the same group; "" for root and without a cgroup.
  std::string cgroup_parent;
  uint64_t log_max_size = 0; // --log-opt max-size (0: no limit) and max-file
  unsigned log_max_files = 1;
  // Restart policies: HostConfig.RestartPolicy{Name,MaximumRetryCount}, RestartCount, and
  // docker's HasBeenManuallyStopped (stop ends the policy; start clears it).
  std::string restart_policy = "no"; // no, on-failure, always, unless-stopped
  int restart_max = 0;               // on-failure:N (0: no limit)
  int restart_count = 0;
  bool manually_stopped = false;
  // run flags of issue 16 point 4, in docker inspect's places: Config.StopSignal and
  // StopTimeout, HostConfig.Init, Privileged, PublishAllPorts, ShmSize, Dns, DnsSearch,
  // ExtraHosts, GroupAdd, Devices, Ulimits, Sysctls,
  // SecurityOpt (beside no-new-privileges: "seccomp=unconfined" or "seccomp=<the profile>").
  std::string stop_signal;
  std::optional<int> stop_timeout;
  bool init = false, privileged = false, publish_all = false;
  int64_t shm_size = 0;
  std::vector<std::string> dns, dns_search, extra_hosts, group_add;
  std::vector<DeviceMapping> devices;
  std::vector<Ulimit> ulimits;
  std::vector<std::pair<std::string, std::string>> sysctls;
  std::string seccomp;
  // State
  std::string status = "created"; // created, running, restarting, exited
  bool paused = false;             // pause: frozen; status stays "running" (JSON: "paused")
  int pid = 0;
  uint64_t pid_start = 0; // /proc/<pid>/stat starttime, to tell a reused PID apart
  int supervisor = 0;     // the process that waits for the container (koker-run)
  uint64_t supervisor_start = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string started_at, finished_at, error;
  // NetworkSettings: the address on the first network; the user-defined networks joined
  // (network_mode is then the first one's name, as docker's)
  std::string ip_address;
  std::string ip6_address; // on the default bridge with IPv6 on (koker-net up --ipv6)
  std::vector<Endpoint> networks;
  // Mounts (issue 16.2), sorted so that a mount comes after those it lies within
  std::vector<MountPoint> mounts;

  json::Value to_json() const;
  // The record in v, read from what (its path, for messages); a member of the wrong type is
  // an Error naming it.
  static Record from_json(const json::Value &v, std::string_view what);
};

// True for a container ID: 64 lowercase hex digits.
bool valid_id(std::string_view id);
// KOKER_ROOT/containers/<id>
std::string dir_of(const std::string &root, std::string_view id);
// Writes the record (no fsync: live state).
void save(const std::string &root, const Record &rec);
std::optional<Record> load(const std::string &root, std::string_view id);
// Every container's record; one that cannot be read is skipped with a warning. With unsaved,
// the IDs of directories with no record yet (being created, or left by a killed koker-run).
std::vector<Record> list(const std::string &root, std::vector<std::string> *unsaved = nullptr);
// The ID of the container query names (full ID, unique ID prefix of 12+ hex, or name) whose
// directory exists, without reading its record; throws Error on an ambiguous prefix.
std::optional<std::string> find_id(const std::string &root, std::string_view query);
// find_id() and its record; throws Error on an ambiguous prefix or a record that cannot be
// read (naming it).
std::optional<Record> find(const std::string &root, std::string_view query);
// find(), or Error("no such container: QUERY").
Record get(const std::string &root, std::string_view query);

// True for docker's container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters.
bool valid_name(std::string_view name);
// Claims name for id; throws Error("the container name X is already in use ...") when taken.
void claim_name(const std::string &root, std::string_view name, std::string_view id);
// Claims a generated name for id, drawing another when a concurrent run took the one drawn;
// returns it.
std::string claim_generated_name(const std::string &root, std::string_view id);
void release_name(const std::string &root, std::string_view name);
// Releases every name that points to id (for a container whose record cannot be read).
void release_names_of(const std::string &root, std::string_view id);

// The starttime field of /proc/<pid>/stat (0 when the process is gone).
uint64_t process_start_time(int pid);
// True while pid is the process that started at start (not a reused PID).
bool process_alive(int pid, uint64_t start);

// How a container ended, kept apart from its record in containers/<id>/exit: a file of fixed
// size made when the container starts and rewritten in place when it ends, so the exit code
// survives a full disk (rewriting blocks already allocated needs no space) and a record that
// could not be saved.
struct Exit {
  int code = 0;
  std::string finished_at;
  bool oom_killed = false;
};
// Makes the exit file, blank (throws on failure: better now than when the container ends).
void reserve_exit_file(const std::string &root, std::string_view id);
// Writes how the container ended into its exit file; false (and a warning) if it cannot.
bool record_exit(const std::string &root, std::string_view id, const Exit &e);
// What the exit file says, if the container's end was recorded there.
std::optional<Exit> read_exit(const std::string &root, std::string_view id);

// The per-container lock (flock on containers/<id>/lock): state changes are serialised.
sys::FileLock lock(const std::string &root, std::string_view id);
// Loads, changes with fn and saves the record under its lock; false when it is gone.
bool update(const std::string &root, std::string_view id, const std::function<void(Record &)> &fn);
// True for a container nobody will record the end of: its record says running, its process is
// gone and so is its supervisor (koker-run or the -d supervisor, killed).
bool orphaned(const Record &rec);
// The record as it really is: an orphaned container shows as exited, with the code of its
// exit file, or 255 (status unknown) and no FinishedAt when its supervisor was killed before
// it could write one. Nothing is saved: lifecycle::settle records the exit once it has
// released what the container held, so that a record saying exited never hides a cgroup or
// an address.
Record refresh(const std::string &root, Record rec);
// A docker-like random name ("eager_turing") not taken yet.
std::string generate_name(const std::string &root);

} // namespace koker::container
