// SPDX-License-Identifier: MIT
// User-defined networks: their records and inspect objects (no netlink: static tools read
// them). Making and removing their bridges is network_bridge.cpp's.
#include "net/network.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/detail.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace koker::net {

namespace {

std::string record_path(const std::string &root, std::string_view name) {
  return cat(root, "/networks/", name, ".json");
}

std::map<std::string, std::string> string_map(const json::Value *v) {
  std::map<std::string, std::string> m;
  if (v && v->is_object())
    for (const auto &[key, value] : v->members())
      m[key] = value.is_string() ? value.as_string() : "";
  return m;
}

json::Value map_json(const std::map<std::string, std::string> &m) {
  json::Value o = json::Value::object();
  for (const auto &[key, value] : m)
    o.set(key, value);
  return o;
}

std::optional<NetworkRecord> read_record(const std::string &path) {
  auto text = sys::read_file_if_exists(path, 1 << 20);
  if (!text)
    return std::nullopt;
  json::Value doc = json::parse(*text, path);
  json::Fields f(&doc, path);
  NetworkRecord r;
  r.name = f.string("Name");
  r.id = f.string("Id");
  r.created = f.string("Created");
  r.bridge = f.string("Bridge");
  r.subnet = f.string("Subnet");
  r.gateway = f.string("Gateway");
  r.ip_range = f.string("IPRange");
  r.subnet6 = f.string("Subnet6", "");
  r.gateway6 = f.string("Gateway6", "");
  r.internal = f.boolean("Internal");
  r.labels = string_map(f.find("Labels"));
  r.options = string_map(f.find("Options"));
  return r;
}

// The containers on bridge network n, as docker's inspect lists them.
json::Value containers_json(const std::string &root, const Network &n) {
  json::Value c = json::Value::object();
  for (const auto &l : leases(n)) {
    detail::Recorded r{l, 0, 0};
    if (auto full = detail::read_lease(n, l.ip))
      r = *full;
    if (!detail::in_use(root, r))
      continue;
    auto rec = container::load(root, l.id);
    uint32_t ip = *parse_ip(l.ip);
    char mac[18];
    std::snprintf(mac, sizeof mac, "02:42:%02x:%02x:%02x:%02x", (ip >> 24) & 0xff,
                  (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    json::Value v = json::Value::object();
    v.set("Name", rec ? rec->name : "");
    v.set("EndpointID", "");
    v.set("MacAddress", n.gateway ? mac : "");
    v.set("IPv4Address", cat(l.ip, "/", n.subnet.prefix));
    v.set("IPv6Address", l.ip6.empty() || !n.subnet6 ? "" : cat(l.ip6, "/", n.subnet6->prefix));
    c.set(l.id, std::move(v));
  }
  return c;
}

} // namespace

void check_network_name(std::string_view name) {
  if (!text::is_name(name))
    fail("invalid network name ", printable(name),
         ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (name == "bridge" || name == "host" || name == "none" || name == "default")
    fail("operation is not permitted on predefined ", name, " network");
}

std::vector<NetworkRecord> list_networks(const std::string &root) {
  std::vector<NetworkRecord> out;
  std::string dir = root + "/networks";
  if (!sys::exists(dir))
    return out;
  for (const auto &entry : sys::list_dir(dir)) {
    if (entry[0] == '.' || entry.size() < 6 || entry.substr(entry.size() - 5) != ".json")
      continue; // a temporary file of an atomic write
    try {
      if (auto r = read_record(dir + "/" + entry))
        out.push_back(*r);
    } catch (const Error &e) {
      log::warn(e.what());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const NetworkRecord &a, const NetworkRecord &b) { return a.name < b.name; });
  return out;
}

std::optional<NetworkRecord> find_network(const std::string &root, std::string_view name) {
  auto all = list_networks(root);
  for (const auto &r : all)
    if (r.name == name || r.id == name)
      return r;
  std::optional<NetworkRecord> found;
  for (const auto &r : all)
    if (!name.empty() && text::starts_with(r.id, name)) {
      if (found)
        fail("network ", printable(name), " is ambiguous (", found->name, ", ", r.name, ")");
      found = r;
    }
  return found;
}

Network network_of(const std::string &root, const NetworkRecord &r) {
  Network n;
  n.root = detail::canonical(root);
  n.bridge = r.bridge;
  n.subnet = parse_subnet(r.subnet);
  n.gateway = parse_ip(r.gateway).value_or(n.subnet.gateway());
  if (!r.ip_range.empty()) {
    Subnet range = parse_subnet(r.ip_range);
    n.range_first = std::max(range.network, n.subnet.network + 1);
    n.range_last = std::min(range.broadcast(), n.subnet.broadcast() - 1);
  }
  n.internal = r.internal;
  if (!r.subnet6.empty())
    n.subnet6 = parse_subnet6(r.subnet6);
  return n;
}

sys::FileLock lock_networks(const std::string &root) {
  sys::mkdir_p(root + "/networks", 0700);
  sys::mkdir_p(root + "/locks", 0700);
  sys::FileLock lock(root + "/locks/networks.lock", sys::FileLock::Mode::exclusive);
  // What a killed tool left of an atomic write (under the lock: nobody writes one now).
  for (const auto &entry : sys::list_dir(root + "/networks"))
    if (entry.find(".json.tmp-") != std::string::npos) {
      log::debug("unlink ", root, "/networks/", entry, " (left by a killed tool)");
      ::unlink(cat(root, "/networks/", entry).c_str());
    }
  return lock;
}

bool network_in_use(const Network &n) {
  for (const auto &ip : detail::lease_ips(n))
    if (auto r = detail::read_lease(n, ip); r && detail::in_use(n.root, *r))
      return true;
  return false;
}

void write_network_record(const std::string &root, const NetworkRecord &r) {
  json::Value v = json::Value::object();
  v.set("Name", r.name);
  v.set("Id", r.id);
  v.set("Created", r.created);
  v.set("Bridge", r.bridge);
  v.set("Subnet", r.subnet);
  v.set("Gateway", r.gateway);
  v.set("IPRange", r.ip_range);
  if (!r.subnet6.empty()) {
    v.set("Subnet6", r.subnet6);
    v.set("Gateway6", r.gateway6);
  }
  v.set("Internal", r.internal);
  v.set("Labels", map_json(r.labels));
  v.set("Options", map_json(r.options));
  std::string path = record_path(root, r.name);
  log::debug("write ", path, " (atomically)");
  sys::write_file_atomic(path, v.dump(2) + "\n", 0600);
}

json::Value network_json(const std::string &root, const NetworkRecord *r) {
  if (!r)
    return default_network_json(root);
  Network n = network_of(root, *r);
  json::Value v = json::Value::object();
  v.set("Name", r->name);
  v.set("Id", r->id);
  v.set("Created", r->created);
  v.set("Scope", "local");
  v.set("Driver", "bridge");
  v.set("EnableIPv6", !r->subnet6.empty());
  json::Value ipam = json::Value::object();
  ipam.set("Driver", "default");
  ipam.set("Options", json::Value::object());
  json::Value config = json::Value::object();
  config.set("Subnet", r->subnet);
  if (!r->ip_range.empty())
    config.set("IPRange", r->ip_range);
  config.set("Gateway", r->gateway);
  json::Value configs = json::Value::array();
  configs.push(std::move(config));
  if (!r->subnet6.empty()) {
    json::Value config6 = json::Value::object();
    config6.set("Subnet", r->subnet6);
    config6.set("Gateway", r->gateway6);
    configs.push(std::move(config6));
  }
  ipam.set("Config", std::move(configs));
  v.set("IPAM", std::move(ipam));
  v.set("Internal", r->internal);
  v.set("Attachable", false);
  v.set("Ingress", false);
  v.set("ConfigOnly", false);
  v.set("Containers", containers_json(root, n));
  json::Value options = map_json(r->options);
  options.set("com.docker.network.bridge.name", r->bridge);
  v.set("Options", std::move(options));
  v.set("Labels", map_json(r->labels));
  return v;
}

json::Value default_network_json(const std::string &root) {
  Network n = from_env(root);
  json::Value v = json::Value::object();
  v.set("Name", "bridge");
  // A stable ID of the default network, for its bridge's name (FNV-1a, four seeds).
  std::string id;
  for (uint64_t seed = 0; seed < 4; ++seed)
    id += text::fnv1a_hex("koker bridge network " + n.bridge, seed);
  v.set("Id", id);
  v.set("Created", "");
  v.set("Scope", "local");
  v.set("Driver", "bridge");
  v.set("EnableIPv6", n.subnet6.has_value());
  json::Value ipam = json::Value::object();
  ipam.set("Driver", "default");
  ipam.set("Options", json::Value::object());
  json::Value config = json::Value::object();
  config.set("Subnet", n.subnet.str());
  config.set("Gateway", ip_string(n.gw()));
  json::Value configs = json::Value::array();
  configs.push(std::move(config));
  if (n.subnet6) { // koker-net up --ipv6
    json::Value config6 = json::Value::object();
    config6.set("Subnet", n.subnet6->str());
    config6.set("Gateway", ip6_string(n.subnet6->gateway()));
    configs.push(std::move(config6));
  }
  ipam.set("Config", std::move(configs));
  v.set("IPAM", std::move(ipam));
  v.set("Internal", false);
  v.set("Attachable", false);
  v.set("Ingress", false);
  v.set("ConfigOnly", false);
  v.set("Containers", containers_json(root, n));
  json::Value options = json::Value::object();
  options.set("com.docker.network.bridge.default_bridge", "true");
  options.set("com.docker.network.bridge.name", n.bridge);
  v.set("Options", std::move(options));
  v.set("Labels", json::Value::object());
  return v;
}

} // namespace koker::net
