// SPDX-License-Identifier: MIT
#include "store/container.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/parallel.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace koker::container {

json::Value Record::to_json() const {
  json::Value v = json::Value::object();
  v.set("Id", id);
  v.set("Created", created);
  v.set("Path", path);
  v.set("Args", json::string_array(args));
  json::Value &state = v.set("State", json::Value::object());
  // pause: docker's State.Status "paused" while Running stays true.
  state.set("Status", status == "running" && paused ? "paused" : status);
  state.set("Running", status == "running");
  state.set("Paused", status == "running" && paused);
  state.set("Restarting", status == "restarting");
  state.set("Pid", pid);
  state.set("PidStartTime", json::Value(pid_start));
  state.set("SupervisorPid", supervisor);
  state.set("SupervisorStartTime", json::Value(supervisor_start));
  state.set("ExitCode", exit_code);
  state.set("OOMKilled", oom_killed);
  state.set("Error", error);
  state.set("StartedAt", started_at.empty() ? "0001-01-01T00:00:00Z" : started_at);
  state.set("FinishedAt", finished_at.empty() ? "0001-01-01T00:00:00Z" : finished_at);
  v.set("Image", image_id);
  v.set("Name", "/" + name);
  json::Value &config = v.set("Config", json::Value::object());
  config.set("Hostname", hostname);
  config.set("User", user);
  config.set("Tty", tty);
  config.set("OpenStdin", open_stdin);
  config.set("StdinOnce", stdin_once);
  config.set("Env", json::string_array(env));
  config.set("Cmd", json::string_array(cmd));
  config.set("Image", image);
  config.set("WorkingDir", workdir);
  config.set("Entrypoint", json::string_array(entrypoint));
  // issue 16 point 4: the stop signal and timeout (docker omits them when unset)
  if (!stop_signal.empty())
    config.set("StopSignal", stop_signal);
  if (stop_timeout)
    config.set("StopTimeout", *stop_timeout);
  json::Value &label_map = config.set("Labels", json::Value::object());
  for (const auto &[k, val] : labels)
    label_map.set(k, val);
  json::Value &host = v.set("HostConfig", json::Value::object());
  host.set("Binds", json::string_array(binds));
  host.set("NetworkMode", network_mode);
  host.set("PortBindings", json::string_array(publish));
  host.set("AutoRemove", auto_remove);
  host.set("CapAdd", json::string_array(cap_add));
  host.set("CapDrop", json::string_array(cap_drop));
  host.set("ReadonlyRootfs", read_only);
  std::vector<std::string> security_opt;
  if (no_new_privileges)
    security_opt.push_back("no-new-privileges");
  if (!seccomp.empty())
    security_opt.push_back("seccomp=" + seccomp); // docker keeps the profile's text there
  host.set("SecurityOpt", json::string_array(security_opt));
  // issue 16 point 4: the run flags, in docker inspect's names
  host.set("Init", init);
  host.set("Privileged", privileged);
  host.set("PublishAllPorts", publish_all);
  host.set("ShmSize", shm_size);
  host.set("Dns", json::string_array(dns));
  host.set("DnsSearch", json::string_array(dns_search));
  host.set("ExtraHosts", json::string_array(extra_hosts));
  host.set("GroupAdd", json::string_array(group_add));
  json::Value &device_list = host.set("Devices", json::Value::array());
  for (const auto &d : devices) {
    json::Value &e = device_list.push(json::Value::object());
    e.set("PathOnHost", d.path_on_host);
    e.set("PathInContainer", d.path_in_container);
    e.set("CgroupPermissions", d.cgroup_permissions);
  }
  json::Value &ulimit_list = host.set("Ulimits", json::Value::array());
  for (const auto &u : ulimits) {
    json::Value &e = ulimit_list.push(json::Value::object());
    e.set("Name", u.name);
    e.set("Hard", u.hard);
    e.set("Soft", u.soft);
  }
  json::Value &sysctl_map = host.set("Sysctls", json::Value::object());
  for (const auto &[k, value] : sysctls)
    sysctl_map.set(k, value);
  host.set("Memory", memory);
  host.set("MemorySwap", memory_swap);
  host.set("NanoCpus", nano_cpus);
  host.set("PidsLimit", pids_limit);
  if (!cgroup_parent.empty())
    host.set("CgroupParent", cgroup_parent);
  json::Value &log_config = host.set("LogConfig", json::Value::object());
  log_config.set("Type", "koker"); // the output as it is, no JSON framing
  json::Value &log_opts = log_config.set("Config", json::Value::object());
  if (log_max_size) {
    log_opts.set("max-size", std::to_string(log_max_size));
    log_opts.set("max-file", std::to_string(log_max_files));
  }
  // Mounts (issue 16.2): docker's Mounts[], and its HostConfig.Tmpfs for the tmpfs options
  json::Value tmpfs = json::Value::object();
  json::Value mount_list = json::Value::array();
  for (const auto &m : mounts) {
    json::Value &j = mount_list.push(json::Value::object());
    j.set("Type", m.type);
    if (m.type == "volume")
      j.set("Name", m.name);
    j.set("Source", m.source);
    j.set("Destination", m.destination);
    if (m.type == "volume")
      j.set("Driver", "local");
    j.set("Mode", m.mode);
    j.set("RW", m.rw);
    j.set("Propagation", m.propagation);
    if (m.type == "tmpfs")
      tmpfs.set(m.destination, m.options);
  }
  if (!tmpfs.members().empty())
    host.set("Tmpfs", std::move(tmpfs));
  v.set("Mounts", std::move(mount_list)); // host is not used after this: v's members move
  // Restart policies
  json::Value &policy = host.set("RestartPolicy", json::Value::object());
  policy.set("Name", restart_policy);
  policy.set("MaximumRetryCount", restart_max);
  v.set("RestartCount", restart_count);
  v.set("HasBeenManuallyStopped", manually_stopped);
  json::Value &net = v.set("NetworkSettings", json::Value::object());
  net.set("IPAddress", ip_address);
  net.set("GlobalIPv6Address", ip6_address);
  json::Value &nets = net.set("Networks", json::Value::object());
  auto endpoint = [](const Endpoint &e) {
    json::Value j = json::Value::object();
    if (e.requested_ip.empty() && e.requested_ip6.empty()) {
      j.set("IPAMConfig", json::Value());
    } else {
      json::Value &ipam = j.set("IPAMConfig", json::Value::object());
      if (!e.requested_ip.empty())
        ipam.set("IPv4Address", e.requested_ip);
      if (!e.requested_ip6.empty())
        ipam.set("IPv6Address", e.requested_ip6);
    }
    j.set("Links", json::Value());
    j.set("Aliases", e.aliases.empty() ? json::Value() : json::string_array(e.aliases));
    j.set("NetworkID", e.network_id);
    j.set("EndpointID", "");
    j.set("Gateway", e.gateway);
    j.set("IPAddress", e.ip_address);
    j.set("IPPrefixLen", e.prefix);
    j.set("IPv6Gateway", e.gateway6);
    j.set("GlobalIPv6Address", e.ip6_address);
    j.set("GlobalIPv6PrefixLen", e.prefix6);
    j.set("MacAddress", e.mac);
    j.set("DriverOpts", json::Value());
    return j;
  };
  for (const auto &e : networks)
    nets.set(e.network, endpoint(e));
  if (networks.empty() && network_mode == "bridge") { // the default network: its address only
    Endpoint e;
    e.network = "bridge";
    e.ip_address = ip_address;
    e.ip6_address = ip6_address;
    nets.set("bridge", endpoint(e));
  }
  // docker's shape: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, from publish's
  // "0.0.0.0:8080->80/tcp".
  std::vector<std::pair<std::string, json::Value>> ports; // in publish's order
  for (const auto &p : publish) {
    size_t arrow = p.find("->"), colon = p.rfind(':', arrow);
    if (arrow == std::string::npos || colon == std::string::npos)
      continue;
    json::Value binding = json::Value::object();
    std::string host_ip = p.substr(0, colon);
    if (host_ip.size() > 2 && host_ip.front() == '[' && host_ip.back() == ']')
      host_ip = host_ip.substr(1, host_ip.size() - 2); // docker's HostIp "::1"
    binding.set("HostIp", host_ip);
    binding.set("HostPort", p.substr(colon + 1, arrow - colon - 1));
    std::string key = p.substr(arrow + 2);
    auto it = std::find_if(ports.begin(), ports.end(), [&](auto &e) { return e.first == key; });
    if (it == ports.end())
      it = ports.insert(ports.end(), {key, json::Value::array()});
    it->second.push(std::move(binding));
  }
  json::Value &port_map = net.set("Ports", json::Value::object());
  for (auto &[key, list] : ports)
    port_map.set(key, std::move(list));
  return v;
}

Record Record::from_json(const json::Value &v, std::string_view what) {
  json::Fields f(&v, std::string(what));
  Record r;
  r.id = f.string("Id");
  r.created = f.string("Created");
  r.path = f.string("Path");
  r.args = f.strings("Args");
  json::Fields state = f.object("State");
  r.status = state.string("Status", "created");
  if (r.status == "paused") { // pause: a paused container is a running one, frozen
    r.status = "running";
    r.paused = true;
  }
  r.pid = static_cast<int>(state.integer("Pid"));
  r.pid_start = static_cast<uint64_t>(state.integer("PidStartTime"));
  r.supervisor = static_cast<int>(state.integer("SupervisorPid"));
  r.supervisor_start = static_cast<uint64_t>(state.integer("SupervisorStartTime"));
  r.exit_code = static_cast<int>(state.integer("ExitCode"));
  r.oom_killed = state.boolean("OOMKilled");
  r.error = state.string("Error");
  r.started_at = state.string("StartedAt");
  r.finished_at = state.string("FinishedAt");
  if (r.started_at.rfind("0001-", 0) == 0)
    r.started_at.clear();
  if (r.finished_at.rfind("0001-", 0) == 0)
    r.finished_at.clear();
  r.image_id = f.string("Image");
  r.name = f.string("Name");
  if (!r.name.empty() && r.name[0] == '/')
    r.name.erase(0, 1);
  json::Fields config = f.object("Config");
  r.hostname = config.string("Hostname");
  r.user = config.string("User");
  r.tty = config.boolean("Tty");
  r.open_stdin = config.boolean("OpenStdin");
  r.stdin_once = config.boolean("StdinOnce");
  r.env = config.strings("Env");
  r.cmd = config.strings("Cmd");
  r.image = config.string("Image");
  r.workdir = config.string("WorkingDir");
  r.entrypoint = config.strings("Entrypoint");
  r.stop_signal = config.string("StopSignal");
  if (const json::Value *t = config.find("StopTimeout"); t && !t->is_null())
    r.stop_timeout = static_cast<int>(config.integer("StopTimeout"));
  r.labels = config.string_map("Labels");
  json::Fields host = f.object("HostConfig");
  r.binds = host.strings("Binds");
  r.network_mode = host.string("NetworkMode", "bridge");
  r.publish = host.strings("PortBindings");
  r.auto_remove = host.boolean("AutoRemove");
  r.cap_add = host.strings("CapAdd");
  r.cap_drop = host.strings("CapDrop");
  r.read_only = host.boolean("ReadonlyRootfs");
  for (const auto &opt : host.strings("SecurityOpt")) {
    if (opt == "no-new-privileges" || opt == "no-new-privileges:true")
      r.no_new_privileges = true;
    else if (opt.rfind("seccomp=", 0) == 0)
      r.seccomp = opt.substr(8);
  }
  // issue 16 point 4: absent in older records, which then get docker's defaults
  r.init = host.boolean("Init");
  r.privileged = host.boolean("Privileged");
  r.publish_all = host.boolean("PublishAllPorts");
  r.shm_size = host.integer("ShmSize");
  r.dns = host.strings("Dns");
  r.dns_search = host.strings("DnsSearch");
  r.extra_hosts = host.strings("ExtraHosts");
  r.group_add = host.strings("GroupAdd");
  if (const json::Value *list = host.find("Devices"); list && list->is_array())
    for (const auto &e : list->items()) {
      json::Fields d = host.element(e, "HostConfig.Devices[]");
      r.devices.push_back({d.string("PathOnHost"), d.string("PathInContainer"),
                           d.string("CgroupPermissions", "rwm")});
    }
  if (const json::Value *list = host.find("Ulimits"); list && list->is_array())
    for (const auto &e : list->items()) {
      json::Fields u = host.element(e, "HostConfig.Ulimits[]");
      r.ulimits.push_back({u.string("Name"), u.integer("Soft"), u.integer("Hard")});
    }
  if (const json::Value *map = host.find("Sysctls"); map && map->is_object())
    for (const auto &[k, value] : map->members())
      if (value.is_string())
        r.sysctls.emplace_back(k, value.as_string());
  r.memory = host.integer("Memory");
  r.memory_swap = host.integer("MemorySwap");
  r.nano_cpus = host.integer("NanoCpus");
  r.pids_limit = host.integer("PidsLimit");
  r.cgroup_parent = host.string("CgroupParent");
  json::Fields log_opts = host.object("LogConfig").object("Config");
  r.log_max_size = sys::parse_uint(log_opts.string("max-size", "0")).value_or(0);
  r.log_max_files = static_cast<unsigned>(
      std::min<uint64_t>(sys::parse_uint(log_opts.string("max-file", "1")).value_or(1), 100));
  json::Fields settings = f.object("NetworkSettings");
  r.ip_address = settings.string("IPAddress");
  r.ip6_address = settings.string("GlobalIPv6Address", "");
  if (const json::Value *map = settings.find("Networks"); map && map->is_object())
    for (const auto &[name, value] : map->members()) {
      if (name == "bridge" && r.network_mode == "bridge")
        continue; // the default network, shown from IPAddress
      json::Fields e = settings.element(value, cat("NetworkSettings.Networks.", name));
      Endpoint ep;
      ep.network = name;
      ep.network_id = e.string("NetworkID");
      if (const json::Value *ipam = e.find("IPAMConfig"); ipam && ipam->is_object())
      {
        ep.requested_ip = e.object("IPAMConfig").string("IPv4Address", "");
        ep.requested_ip6 = e.object("IPAMConfig").string("IPv6Address", "");
      }
      if (const json::Value *a = e.find("Aliases"); a && a->is_array())
        ep.aliases = e.strings("Aliases");
      ep.ip_address = e.string("IPAddress");
      ep.gateway = e.string("Gateway");
      ep.mac = e.string("MacAddress");
      ep.prefix = static_cast<int>(e.integer("IPPrefixLen"));
      ep.ip6_address = e.string("GlobalIPv6Address");
      ep.gateway6 = e.string("IPv6Gateway");
      ep.prefix6 = static_cast<int>(e.integer("GlobalIPv6PrefixLen"));
      r.networks.push_back(std::move(ep));
    }
  // Mounts (issue 16.2)
  if (const json::Value *list = f.find("Mounts"); list && list->is_array()) {
    json::Fields tmpfs = host.object("Tmpfs");
    size_t i = 0;
    for (const auto &item : list->items()) {
      json::Fields m = f.element(item, cat("Mounts[", i++, "]"));
      MountPoint mp;
      mp.type = m.string("Type");
      mp.name = m.string("Name");
      mp.source = m.string("Source");
      mp.destination = m.string("Destination");
      mp.mode = m.string("Mode");
      mp.rw = m.boolean("RW", true);
      mp.propagation = m.string("Propagation");
      if (mp.type == "tmpfs")
        mp.options = tmpfs.string(mp.destination);
      r.mounts.push_back(std::move(mp));
    }
  }
  // Restart policies (absent in older records: no policy)
  json::Fields policy = host.object("RestartPolicy");
  r.restart_policy = policy.string("Name", "no");
  r.restart_max = static_cast<int>(policy.integer("MaximumRetryCount"));
  r.restart_count = static_cast<int>(f.integer("RestartCount"));
  r.manually_stopped = f.boolean("HasBeenManuallyStopped");
  return r;
}

bool valid_id(std::string_view id) { return id.size() == 64 && text::all_lower_hex(id); }

std::string dir_of(const std::string &root, std::string_view id) {
  if (!valid_id(id))
    fail("invalid container ID ", printable(id));
  return cat(root, "/containers/", id);
}

void save(const std::string &root, const Record &rec) {
  sys::write_file_atomic(dir_of(root, rec.id) + "/config.json", rec.to_json().dump(1) + "\n", 0600,
                         false);
}

std::optional<Record> load(const std::string &root, std::string_view id) {
  auto text = sys::read_file_if_exists(dir_of(root, id) + "/config.json", 4 << 20);
  if (!text)
    return std::nullopt;
  std::string path = dir_of(root, id) + "/config.json";
  return Record::from_json(json::parse(*text, path), path);
}

std::vector<Record> list(const std::string &root, std::vector<std::string> *unsaved) {
  std::vector<Record> out;
  std::string dir = root + "/containers";
  if (!sys::exists(dir))
    return out;
  std::vector<std::string> ids;
  for (auto &name : sys::list_dir(dir))
    if (valid_id(name))
      ids.push_back(std::move(name));
  // Each record is a file to open, read and parse (some 40 us): with 1000 containers, most of
  // what `koker-ps` does. Spread over the cores; a few records are not worth a thread.
  std::vector<std::optional<Record>> loaded(ids.size());
  std::vector<std::string> errors(ids.size());
  parallel::for_each(ids.size(), parallel::threads_for(ids.size()), [&](size_t i, const std::atomic<bool> &) {
    try {
      loaded[i] = load(root, ids[i]);
    } catch (const Error &e) {
      errors[i] = e.what();
    }
  });
  for (size_t i = 0; i < ids.size(); ++i) {
    if (loaded[i])
      out.push_back(std::move(*loaded[i]));
    else if (errors[i].empty() && unsaved)
      unsaved->push_back(ids[i]);
    else if (!errors[i].empty())
      // One bad record must not hide all the others: say so, and go on.
      log::warn("skipping container ", ids[i].substr(0, 12), ": ", errors[i],
                " (koker-rm -f removes it)");
  }
  return out;
}

std::optional<std::string> find_id(const std::string &root, std::string_view query) {
  if (query.empty())
    return std::nullopt;
  if (valid_id(query))
    return sys::exists(dir_of(root, query)) ? std::optional<std::string>(query) : std::nullopt;
  if (valid_name(query)) {
    auto id = sys::read_file_if_exists(cat(root, "/names/", query), 128);
    if (id && valid_id(*id) && sys::exists(dir_of(root, *id)))
      return id;
  }
  if (query.size() < 12 || !text::all_lower_hex(query) || !sys::exists(root + "/containers"))
    return std::nullopt;
  std::optional<std::string> match;
  for (const auto &name : sys::list_dir(root + "/containers")) {
    if (name.compare(0, query.size(), query) != 0)
      continue;
    if (match)
      fail("container ID prefix ", printable(query), " is ambiguous");
    match = name;
  }
  return match;
}

std::optional<Record> find(const std::string &root, std::string_view query) {
  auto id = find_id(root, query);
  return id ? load(root, *id) : std::nullopt;
}

Record get(const std::string &root, std::string_view query) {
  auto rec = find(root, query);
  if (!rec)
    fail("no such container: ", printable(query));
  return *rec;
}

bool valid_name(std::string_view name) { return text::is_name(name); }

void claim_name(const std::string &root, std::string_view name, std::string_view id) {
  if (!valid_name(name))
    fail("invalid container name ", printable(name), ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  sys::mkdir_p(root + "/names", 0700);
  std::string path = cat(root, "/names/", name);
  // O_EXCL makes the claim atomic: of two runs racing for a name, exactly one creates it.
  log::debug("claim name ", name, ": create ", path, " O_EXCL");
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd && errno == EEXIST) {
    auto owner = sys::read_file_if_exists(path, 128);
    fail("the container name \"", name, "\" is already in use by container ",
         owner ? owner->substr(0, 12) : "?", ": remove it or choose another name");
  }
  if (!fd)
    sys_fail("unable to claim the name ", name);
  sys::write_fd(fd.get(), id, path);
}

std::string claim_generated_name(const std::string &root, std::string_view id) {
  for (int attempt = 0;; ++attempt) {
    std::string name = generate_name(root);
    try {
      claim_name(root, name, id);
      return name;
    } catch (const Error &) {
      // Another run drew the same name between generate_name and the O_EXCL create.
      if (attempt >= 20 || !sys::exists(cat(root, "/names/", name)))
        throw;
    }
  }
}

void release_name(const std::string &root, std::string_view name) {
  if (valid_name(name))
    ::unlink(cat(root, "/names/", name).c_str());
}

void release_names_of(const std::string &root, std::string_view id) {
  std::string dir = root + "/names";
  if (!sys::exists(dir))
    return;
  for (const auto &name : sys::list_dir(dir))
    if (sys::read_file_if_exists(cat(dir, "/", name), 128).value_or("") == id) {
      log::debug("unlink ", dir, "/", name);
      ::unlink(cat(dir, "/", name).c_str());
    }
}

uint64_t process_start_time(int pid) {
  // Read by hand: a process reaped between open and read makes the read fail with ESRCH,
  // which means "gone" here, not an error.
  Fd fd(::open(cat("/proc/", pid, "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return 0;
  char buf[4096];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  auto stat = std::optional<std::string>(std::string(buf, static_cast<size_t>(n)));
  // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
  size_t p = stat->rfind(')');
  if (p == std::string::npos || p + 2 >= stat->size())
    return 0;
  // A zombie has exited; whoever should reap it may be gone (a killed supervisor).
  char state = (*stat)[p + 2];
  if (state == 'Z' || state == 'X')
    return 0;
  int field = 2;
  size_t i = p + 1;
  while (i < stat->size() && field < 22) {
    if ((*stat)[i] == ' ')
      ++field;
    ++i;
  }
  size_t end = stat->find(' ', i);
  auto v = sys::parse_uint(std::string_view(*stat).substr(i, end - i));
  return v ? *v : 0;
}

bool process_alive(int pid, uint64_t start) {
  return pid > 0 && start != 0 && process_start_time(pid) == start;
}

sys::FileLock lock(const std::string &root, std::string_view id) {
  return sys::FileLock(dir_of(root, id) + "/lock", sys::FileLock::Mode::exclusive);
}

bool update(const std::string &root, std::string_view id, const std::function<void(Record &)> &fn) {
  if (!sys::exists(dir_of(root, id)))
    return false;
  auto l = lock(root, id);
  auto rec = load(root, id);
  if (!rec)
    return false;
  fn(*rec);
  save(root, *rec);
  return true;
}

bool orphaned(const Record &rec) {
  // A supervisor still alive is about to record an exit that happened a moment ago.
  // A restarting one's supervisor is waiting out its back-off: without it, nothing restarts it.
  return (rec.status == "running" || rec.status == "restarting") &&
         !process_alive(rec.pid, rec.pid_start) &&
         !process_alive(rec.supervisor, rec.supervisor_start);
}

Record refresh(const std::string &root, Record rec) {
  if (!orphaned(rec))
    return rec;
  auto e = read_exit(root, rec.id);
  rec.status = "exited";
  rec.exit_code = e ? e->code : 255;
  rec.finished_at = e ? e->finished_at : ""; // unknown: nobody saw it end
  rec.oom_killed = e && e->oom_killed;
  return rec;
}

void reserve_exit_file(const std::string &root, std::string_view id) {
  sys::write_new_file(dir_of(root, id) + "/exit", std::string(63, ' ') + "\n", 0600);
}

bool record_exit(const std::string &root, std::string_view id, const Exit &e) {
  std::string path = dir_of(root, id) + "/exit";
  std::string line = cat(e.code, " ", e.finished_at, " ", e.oom_killed ? 1 : 0);
  line.resize(63, ' ');
  line += "\n";
  log::debug("pwrite ", path, " ", e.code, " (in place: no new block needed)");
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd || ::pwrite(fd.get(), line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    log::warn("unable to record the exit code of container ", id.substr(0, 12), " in ", path, ": ",
              std::strerror(errno));
    return false;
  }
  return true;
}

std::optional<Exit> read_exit(const std::string &root, std::string_view id) {
  auto text = sys::read_file_if_exists(dir_of(root, id) + "/exit", 4096);
  auto words = text::fields(text.value_or(""), ' ');
  if (words.size() < 3)
    return std::nullopt;
  auto code = sys::parse_uint(words[0]);
  if (!code || *code > 255)
    return std::nullopt;
  return Exit{static_cast<int>(*code), words[1], text::trim(words[2]) == "1"};
}

std::string generate_name(const std::string &root) {
  static const char *const adjectives[] = {
      "agile", "bold",   "brave", "calm",  "clever", "crisp", "eager", "fair",
      "gentle", "happy", "keen",  "kind",  "lucid",  "merry", "nimble", "proud",
      "quick", "quiet",  "sharp", "steady", "swift", "tidy",  "vivid", "wise"};
  static const char *const names[] = {
      "babbage", "curie",   "dijkstra", "euler",   "fermat",  "gauss",  "hopper",
      "kepler",  "knuth",   "lamport",  "lovelace", "noether", "pascal", "ritchie",
      "shannon", "thompson", "torvalds", "turing",  "wirth",   "hamilton"};
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned r = static_cast<unsigned>(std::stoul(sys::random_hex(4), nullptr, 16));
    std::string name = cat(adjectives[r % std::size(adjectives)], "_",
                           names[(r / 64) % std::size(names)]);
    if (attempt >= 10)
      name += cat("_", r % 1000);
    if (!sys::exists(cat(root, "/names/", name)))
      return name;
  }
  return "koker_" + sys::random_hex(6);
}

} // namespace koker::container
