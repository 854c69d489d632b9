// SPDX-License-Identifier: MIT
#include "runtime/oci_state.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "cgroup/cgroup.hpp"
#include "runtime/oci_cgroup.hpp"
#include "runtime/oci_hooks.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace koker::oci {

bool valid_id(const std::string &id) {
  return id.size() <= 1024 && id != "." && id != ".." &&
         text::all(id, [](char c) {
           return text::is_alnum(c) || c == '_' || c == '+' || c == '-' || c == '.';
         });
}

std::string dir_of(const std::string &root, const std::string &id) {
  if (!valid_id(id))
    fail("invalid container id ", printable(id));
  return root + "/" + id;
}

std::string fifo_of(const std::string &root, const std::string &id) {
  return dir_of(root, id) + "/exec.fifo";
}

void create_dir(const std::string &root, const std::string &id) {
  std::string dir = dir_of(root, id);
  sys::mkdir_p(root, 0700);
  log::debug("mkdir ", dir);
  if (::mkdir(dir.c_str(), 0700) < 0) {
    if (errno == EEXIST)
      fail("container with id exists: ", id);
    sys_fail("unable to create ", dir);
  }
  log::debug("mkfifo ", dir, "/exec.fifo");
  // 0622: the init opens it for writing after it took the container's user (runc's mode).
  std::string fifo = dir + "/exec.fifo";
  if (::mkfifo(fifo.c_str(), 0622) < 0 || ::chmod(fifo.c_str(), 0622) < 0) {
    int e = errno;
    sys::rm_rf(dir);
    errno = e;
    sys_fail("unable to create ", dir, "/exec.fifo");
  }
}

void save(const std::string &root, const State &st) {
  json::Value v = json::Value::object();
  v.set("id", st.id);
  v.set("pid", st.pid);
  v.set("pid_start", json::Value(st.pid_start));
  v.set("bundle", st.bundle);
  v.set("rootfs", st.rootfs);
  v.set("created", st.created);
  v.set("cgroup", st.cgroup);
  v.set("systemd_cgroup", st.systemd_cgroup);
  json::Value &a = v.set("annotations", json::Value::object());
  for (const auto &[k, val] : st.annotations)
    a.set(k, val);
  v.set("hooks", hooks_json(st.hooks));
  // Live state, on tmpfs like runc's: no fsync.
  sys::write_file_atomic(dir_of(root, st.id) + "/state.json", v.dump(1) + "\n", 0600, false);
}

std::optional<State> load(const std::string &root, const std::string &id) {
  if (!valid_id(id))
    return std::nullopt;
  std::string path = dir_of(root, id) + "/state.json";
  auto text = sys::read_file_if_exists(path, 1 << 20);
  if (!text)
    return std::nullopt;
  json::Value doc = json::parse(*text, path);
  json::Fields f(&doc, path);
  State st;
  st.id = f.string("id");
  st.pid = static_cast<int>(f.integer("pid"));
  st.pid_start = static_cast<uint64_t>(f.integer("pid_start"));
  st.bundle = f.string("bundle");
  st.rootfs = f.string("rootfs");
  st.created = f.string("created");
  st.cgroup = f.string("cgroup");
  st.systemd_cgroup = f.boolean("systemd_cgroup");
  if (const json::Value *a = f.find("annotations"); a && a->is_object())
    for (const auto &[k, val] : a->members())
      if (val.is_string())
        st.annotations[k] = val.as_string();
  st.hooks = parse_hooks(doc, path);
  return st;
}

std::vector<std::string> list(const std::string &root) {
  std::vector<std::string> out;
  if (!sys::exists(root))
    return out;
  for (const auto &name : sys::list_dir(root))
    if (valid_id(name) && sys::exists(cat(root, "/", name, "/state.json")))
      out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string status(const std::string &root, const State &st) {
  // A zombie counts as stopped: its start time reads 0 (container::process_start_time).
  if (!container::process_alive(st.pid, st.pid_start))
    return "stopped";
  if (sys::exists(fifo_of(root, st.id)))
    return "created";
  if (auto g = open_group(root, st); g && g->frozen())
    return "paused";
  return "running";
}

std::string state_json(const std::string &root, const State &st) {
  return state_json(st, status(root, st));
}

std::string state_json(const State &st, std::string_view s) {
  json::Value v = json::Value::object();
  v.set("ociVersion", "1.0.2");
  v.set("id", st.id);
  v.set("pid", s == "stopped" ? 0 : st.pid);
  v.set("status", s);
  v.set("bundle", st.bundle);
  v.set("rootfs", st.rootfs);
  v.set("created", st.created);
  v.set("owner", "");
  json::Value &a = v.set("annotations", json::Value::object());
  for (const auto &[k, val] : st.annotations)
    a.set(k, val);
  return v.dump(2);
}

} // namespace koker::oci
