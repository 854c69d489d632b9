// SPDX-License-Identifier: MIT
#include "image/commit.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/image.hpp"
#include <algorithm>
#include <climits>
#include <cctype>
#include <exception>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace koker::commit {
namespace {

std::string upper_case(std::string_view s) {
  std::string u(s);
  for (auto &c : u)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

[[noreturn]] void bad_change(std::string_view instruction, std::string_view why) {
  fail("invalid change ", printable(instruction, 200), ": ", why);
}

// Dockerfile words: blanks separate them; "..." and '...' quote, and a backslash escapes the
// next character outside single quotes (buildkit's shell lexer, without $ expansion).
std::vector<std::string> words(std::string_view instruction, std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < s.size())
        cur += s[++i];
      else
        cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word)
        out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote)
    bad_change(instruction, "unterminated quote");
  if (in_word)
    out.push_back(std::move(cur));
  return out;
}

// The JSON form (["a", "b"]) when args is a JSON array of strings, else nothing.
std::optional<std::vector<std::string>> json_form(std::string_view args) {
  if (args.empty() || args.front() != '[')
    return std::nullopt;
  try {
    json::Value v = json::parse(args, "change");
    if (!v.is_array())
      return std::nullopt;
    std::vector<std::string> out;
    for (const auto &item : v.items()) {
      if (!item.is_string())
        return std::nullopt;
      out.push_back(item.as_string());
    }
    return out;
  } catch (const Error &) {
    return std::nullopt; // docker then takes it as the shell form
  }
}

// CMD and ENTRYPOINT: the JSON form, or the shell form run by /bin/sh -c.
std::vector<std::string> command(std::string_view args) {
  if (auto j = json_form(args))
    return *j;
  return {"/bin/sh", "-c", std::string(args)};
}

json::Value &object_member(json::Value &config, std::string_view key) {
  json::Value *v = config.find(key);
  if (!v || !v->is_object())
    v = &config.set(key, json::Value::object());
  return *v;
}

// k=v pairs (ENV and LABEL); ENV also takes docker's legacy "ENV key value...".
std::vector<std::pair<std::string, std::string>> pairs(std::string_view instruction,
                                                       std::string_view args, bool legacy) {
  std::vector<std::pair<std::string, std::string>> out;
  auto w = words(instruction, args);
  if (w.empty())
    bad_change(instruction, "expected KEY=VALUE");
  if (legacy && w[0].find('=') == std::string::npos) {
    size_t blank = args.find_first_of(" \t");
    if (blank == std::string_view::npos)
      bad_change(instruction, "ENV needs a value");
    out.emplace_back(w[0], trim(args.substr(blank)));
    return out;
  }
  for (const auto &kv : w) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      bad_change(instruction, cat("expected KEY=VALUE, not ", printable(kv)));
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}




} // namespace

void set_env(json::Value &config, const std::string &key, const std::string &value) {
  std::vector<std::string> env = json::string_list(config.find("Env"));
  std::string entry = cat(key, "=", value);
  auto it = std::find_if(env.begin(), env.end(), [&](const std::string &e) {
    return e.compare(0, key.size() + 1, key + "=") == 0;
  });
  if (it != env.end())
    *it = entry;
  else
    env.push_back(entry);
  config.set("Env", json::string_array(env));
}

std::string port_key(std::string_view instruction, const std::string &port) {
  auto slash = port.find('/');
  std::string num = port.substr(0, slash);
  std::string proto = slash == std::string::npos ? "tcp" : text::lower(port.substr(slash + 1));
  auto n = sys::parse_uint(num);
  if (!n || *n == 0 || *n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp"))
    bad_change(instruction, cat("invalid port ", printable(port)));
  return cat(*n, "/", proto);
}

std::string join_workdir(const std::string &current, const std::string &dir) {
  std::string joined = dir[0] == '/' ? dir : cat(current.empty() ? "/" : current, "/", dir);
  std::string clean;
  for (const auto &comp : text::fields(joined, '/')) {
    if (comp == "..") {
      auto slash = clean.rfind('/');
      clean.erase(slash == std::string::npos ? 0 : slash);
    } else if (!comp.empty() && comp != ".") {
      clean += "/" + comp;
    }
  }
  return clean.empty() ? "/" : clean;
}

std::optional<int64_t> source_date_epoch() {
  std::string v = sys::env("SOURCE_DATE_EPOCH");
  if (v.empty())
    return std::nullopt;
  auto n = sys::parse_uint(v);
  if (!n || *n > uint64_t(INT64_MAX))
    fail("invalid SOURCE_DATE_EPOCH ", printable(v), ": expected seconds since the epoch");
  return static_cast<int64_t>(*n);
}

std::string created_time(std::optional<int64_t> epoch) {
  if (!epoch)
    return sys::now_rfc3339();
  std::string t = sys::rfc3339({static_cast<time_t>(*epoch), 0});
  return t.substr(0, t.size() - 11) + "Z";
}

void apply_change(json::Value &config, std::string_view instruction, bool &cmd_set) {
  std::string line = trim(instruction);
  size_t blank = line.find_first_of(" \t");
  std::string op = upper_case(line.substr(0, blank));
  std::string args = blank == std::string::npos ? "" : trim(line.substr(blank));
  if (op == "CMD" || op == "ENTRYPOINT" || op == "VOLUME" || op == "RUN" || op == "ONBUILD") {
  } else if (args.empty() && !op.empty()) {
    bad_change(instruction, cat(op, " needs an argument"));
  }
  if (op == "CMD") {
    config.set("Cmd", json::string_array(command(args)));
    cmd_set = true;
  } else if (op == "ENTRYPOINT") {
    config.set("Entrypoint",
               json::string_array(args.empty() ? std::vector<std::string>{} : command(args)));
    if (!cmd_set) // Dockerfile rule: an ENTRYPOINT resets the CMD given before it
      config.set("Cmd", json::Value());
  } else if (op == "ENV") {
    for (const auto &[k, v] : pairs(instruction, args, true))
      set_env(config, k, v);
  } else if (op == "LABEL") {
    json::Value &labels = object_member(config, "Labels");
    for (const auto &[k, v] : pairs(instruction, args, false))
      labels.set(k, v);
  } else if (op == "EXPOSE") {
    json::Value &ports = object_member(config, "ExposedPorts");
    for (const auto &p : words(instruction, args))
      ports.set(port_key(instruction, p), json::Value::object());
  } else if (op == "VOLUME") {
    auto list = json_form(args).value_or(words(instruction, args));
    if (list.empty())
      bad_change(instruction, "VOLUME needs a path");
    json::Value &volumes = object_member(config, "Volumes");
    for (const auto &v : list) {
      if (v.empty())
        bad_change(instruction, "VOLUME needs a path");
      volumes.set(v, json::Value::object());
    }
  } else if (op == "WORKDIR") {
    config.set("WorkingDir", join_workdir(config.get_string("WorkingDir"), args));
  } else if (op == "USER") {
    config.set("User", args);
  } else if (op == "STOPSIGNAL") {
    config.set("StopSignal", args);
  } else if (op == "ONBUILD") {
    std::string next = upper_case(args.substr(0, args.find_first_of(" \t")));
    if (args.empty() || next == "ONBUILD" || next == "FROM" || next == "MAINTAINER")
      bad_change(instruction, "ONBUILD needs an instruction other than ONBUILD, FROM, MAINTAINER");
    json::Value *onbuild = config.find("OnBuild");
    if (!onbuild || !onbuild->is_array())
      onbuild = &config.set("OnBuild", json::Value::array());
    onbuild->push(args);
  } else {
    fail("unable to apply change ", printable(line, 200), ": ", op.empty() ? "nothing" : op,
         " is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, ",
         "VOLUME, WORKDIR");
  }
}

std::string make_config(const json::Value &base, const Settings &s,
                        const std::vector<std::string> &changes, const std::string &diff_id,
                        const History &h) {
  // docker's NewChildImage: a new document of the base's platform, not a copy of its
  // container_config, container or docker_version, which would name another container.
  json::Value doc = json::Value::object();
  for (const char *key : {"architecture", "variant", "os", "os.version"})
    if (const json::Value *v = base.find(key); v && v->is_string())
      doc.set(key, *v);
  if (!h.author.empty())
    doc.set("author", h.author);
  doc.set("created", h.created);

  const json::Value *base_cfg = base.find("config");
  json::Value config = base_cfg && base_cfg->is_object() ? *base_cfg : json::Value::object();
  // The container's settings, as docker commit takes them from its Config.
  config.set("Env", json::string_array(s.env));
  config.set("Cmd", s.cmd.empty() ? json::Value() : json::string_array(s.cmd));
  config.set("Entrypoint", s.entrypoint.empty() ? json::Value() : json::string_array(s.entrypoint));
  config.set("WorkingDir", s.working_dir);
  config.set("User", s.user);
  if (!s.stop_signal.empty())
    config.set("StopSignal", s.stop_signal);
  if (!s.labels.empty()) {
    json::Value &labels = object_member(config, "Labels");
    for (const auto &[k, v] : s.labels)
      labels.set(k, v);
  }
  if (!s.exposed_ports.empty()) {
    json::Value &ports = object_member(config, "ExposedPorts");
    for (const auto &p : s.exposed_ports)
      ports.set(p, json::Value::object());
  }
  if (!s.volumes.empty()) {
    json::Value &volumes = object_member(config, "Volumes");
    for (const auto &v : s.volumes)
      volumes.set(v, json::Value::object());
  }
  bool cmd_set = false;
  for (const auto &c : changes)
    apply_change(config, c, cmd_set);
  doc.set("config", std::move(config));

  json::Value rootfs = json::Value::object();
  rootfs.set("type", "layers");
  std::vector<std::string> diff_ids;
  if (const json::Value *r = base.find("rootfs"); r && r->is_object())
    diff_ids = json::string_list(r->find("diff_ids"));
  if (!h.empty_layer)
    diff_ids.push_back(diff_id);
  rootfs.set("diff_ids", json::string_array(diff_ids));
  doc.set("rootfs", std::move(rootfs));

  json::Value history = json::Value::array();
  if (const json::Value *old = base.find("history"); old && old->is_array())
    for (const auto &item : old->items())
      history.push(item);
  json::Value entry = json::Value::object();
  entry.set("created", h.created);
  if (!h.created_by.empty())
    entry.set("created_by", h.created_by);
  if (!h.author.empty())
    entry.set("author", h.author);
  if (!h.comment.empty())
    entry.set("comment", h.comment);
  if (h.empty_layer)
    entry.set("empty_layer", true);
  history.push(std::move(entry));
  doc.set("history", std::move(history));
  return doc.dump();
}

Layer store_layer(const store::Store &store, const std::string &upper,
                  const archive::UpperOptions &options) {
  std::string tmp = store.make_tmp_dir();
  sys::Rollback undo;
  undo.add(cat("rm -rf ", tmp), [tmp] { sys::rm_rf(tmp); });
  std::string diff = tmp + "/diff";
  check(::mkdir(diff.c_str(), 0755), "unable to create ", diff);
  std::string blob_path = tmp + "/blob";
  log::debug("write the layer of ", upper, " to ", blob_path, " and unpack it into ", diff);
  Fd blob(check(::open(blob_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                "unable to create ", blob_path));
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to create a pipe");
  Fd read_end(fds[0]), write_end(fds[1]);
  // The same bytes go to the blob and, through the pipe, to the extractor, which unpacks them
  // as it would a pulled layer: the image then runs from the store like any other.
  archive::LayerInfo unpacked;
  std::exception_ptr extract_error;
  std::thread extractor([&] {
    try {
      unpacked = archive::extract_layer(read_end.get(), diff, archive::Limits::from_env());
    } catch (...) {
      extract_error = std::current_exception();
    }
    read_end.reset();
  });
  archive::UpperOptions o = options;
  o.also_fd = blob.get();
  archive::LayerInfo packed;
  std::exception_ptr pack_error;
  try {
    packed = archive::pack_upper(upper, write_end.get(), o);
  } catch (...) {
    pack_error = std::current_exception();
  }
  write_end.reset();
  extractor.join();
  if (pack_error)
    std::rethrow_exception(pack_error);
  if (extract_error)
    std::rethrow_exception(extract_error);
  if (unpacked.diff_id != packed.diff_id)
    fail("unable to commit ", upper, ": the layer unpacked as ", unpacked.diff_id, ", not ",
         packed.diff_id);
  struct stat st;
  check(::fstat(blob.get(), &st), "unable to stat ", blob_path);
  blob.reset();
  Layer layer{packed.diff_id, unpacked.size, static_cast<uint64_t>(st.st_size), packed.entries};
  log::debug("layer ", layer.diff_id, ": ", layer.entries, " entries, ", layer.size,
             " bytes, a tar of ", layer.tar_size, " bytes");
  if (layer.entries == 0)
    return layer; // docker adds no layer for no changes (layer.IsEmpty): nothing to keep
  sys::write_file_atomic(tmp + "/size", std::to_string(layer.size), 0444, false);
  store.commit_blob(blob_path, layer.diff_id);
  store.commit_layer(tmp, layer.diff_id);
  undo.dismiss();
  return layer;
}

std::string make_manifest(std::string_view base_manifest, std::string_view media_type,
                          std::string_view config_digest, uint64_t config_size,
                          const std::optional<Layer> &layer) {
  bool docker = media_type == image::media::docker_manifest;
  json::Value base = json::parse(base_manifest, "the base image's manifest");
  json::Value doc = json::Value::object();
  doc.set("schemaVersion", 2);
  doc.set("mediaType",
          std::string(docker ? image::media::docker_manifest : image::media::oci_manifest));
  json::Value config = json::Value::object();
  config.set("mediaType",
             std::string(docker ? image::media::docker_config : image::media::oci_config));
  config.set("digest", std::string(config_digest));
  config.set("size", config_size);
  doc.set("config", std::move(config));
  json::Value layers = json::Value::array();
  if (const json::Value *l = base.find("layers"); l && l->is_array())
    for (const auto &item : l->items())
      layers.push(item);
  if (layer) {
    json::Value d = json::Value::object();
    // A plain tar, as docker and podman keep a committed layer: compressing 50 MB costs
    // seconds, a push may compress it (both media types are in the specs).
    d.set("mediaType", docker ? "application/vnd.docker.image.rootfs.diff.tar"
                              : std::string(image::media::oci_layer_tar));
    d.set("digest", layer->diff_id);
    d.set("size", layer->tar_size);
    layers.push(std::move(d));
  }
  doc.set("layers", std::move(layers));
  return doc.dump();
}

} // namespace koker::commit

namespace koker::commit {

store::ImageRecord register_image(const store::Store &store, const store::ImageRecord &base,
                                  const std::string &config, const std::optional<Layer> &layer,
                                  const std::string &created,
                                  const std::vector<std::string> &tags,
                                  const std::string &build_key) {
  std::string config_digest = digest::sha256(config);
  log::debug("config ", config_digest, " (", config.size(), " bytes)");
  store.put_blob(config_digest, config);
  store::ImageRecord out;
  out.id = config_digest;
  out.repo_tags = tags;
  out.layers = base.layers;
  out.layer_blobs = base.layer_blobs;
  if (layer) {
    out.layers.push_back(layer->diff_id);
    out.layer_blobs.push_back(layer->diff_id);
  }
  bool scratch = base.id.empty();
  auto base_manifest = base.manifest_digest.empty()
                           ? std::nullopt
                           : store.read_blob(base.manifest_digest, image::max_manifest_size);
  if (scratch || (base.layer_blobs.size() == base.layers.size() && base_manifest)) {
    // FROM scratch: docker build's own family, Docker v2 schema 2
    std::string media_type = scratch ? std::string(image::media::docker_manifest)
                                     : base.manifest_media_type;
    std::string manifest = make_manifest(scratch ? "{}" : *base_manifest, media_type,
                                         config_digest, config.size(), layer);
    out.manifest_digest = digest::sha256(manifest);
    out.manifest_media_type = media_type == image::media::docker_manifest
                                  ? image::media::docker_manifest
                                  : image::media::oci_manifest;
    log::debug("manifest ", out.manifest_digest, " (", out.manifest_media_type, ")");
    store.put_blob(out.manifest_digest, manifest);
  } else {
    // An image stored by a koker older than push and save: its layers' blobs are not kept,
    // so the new image runs here but cannot leave the store.
    out.layer_blobs.clear();
    log::warn("image ", base.id.substr(7, 12), " was stored by an older koker: the new image ",
              "runs, but push and save need its base image pulled again");
  }
  for (const auto &l : out.layers)
    out.size += store.layer_size(l);
  out.created = created;
  out.pulled = sys::now_rfc3339();
  out.parent = base.id;
  out.build_key = build_key;
  store.add_image(out);
  log::debug("image ", out.id, " registered in ", store.root(), "/images.json");
  return out;
}

} // namespace koker::commit
