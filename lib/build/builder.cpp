// SPDX-License-Identifier: MIT
#include "build/builder.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "build/config_step.hpp"
#include "build/context.hpp"
#include "build/copy_step.hpp"
#include "build/run_step.hpp"
#include "build/workspace.hpp"
#include "image/commit.hpp"
#include "image/image.hpp"
#include "image/resolve.hpp"
#include "runtime/container_diff.hpp"
#include "runtime/container_root.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/mounts.hpp"
#include "store/container.hpp"
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sys/stat.h>

namespace koker::builder {
namespace {

// A stage's image as its steps go: the record (id "" before the first step of FROM scratch),
// its config document, and the variables.
struct State {
  store::ImageRecord image;
  json::Value doc;
};

// docker's NewChildImage: a config document with only what a child keeps of its parent.
json::Value child_doc(const json::Value &base) {
  json::Value doc = json::Value::object();
  for (const char *key : {"architecture", "variant", "os", "os.version", "author"})
    if (const json::Value *v = base.find(key); v && v->is_string())
      doc.set(key, *v);
  const json::Value *cfg = base.find("config");
  doc.set("config", cfg && cfg->is_object() ? *cfg : json::Value::object());
  json::Value rootfs = json::Value::object();
  rootfs.set("type", "layers");
  const json::Value *r = base.find("rootfs");
  rootfs.set("diff_ids", json::string_array(json::string_list(r ? r->find("diff_ids") : nullptr)));
  doc.set("rootfs", std::move(rootfs));
  const json::Value *h = base.find("history");
  doc.set("history", h && h->is_array() ? *h : json::Value::array());
  return doc;
}

json::Value scratch_doc() {
  image::Platform host = image::Platform::host();
  json::Value base = json::Value::object();
  base.set("architecture", host.arch);
  if (!host.variant.empty())
    base.set("variant", host.variant);
  base.set("os", "linux");
  return child_doc(base);
}

std::string short_id(const std::string &id) { return id.substr(7, 12); }

class Builder {
public:
  Builder(store::Store &store, const Options &o) : m_store(store), m_o(o) {}

  std::string run() {
    m_df = dockerfile::parse(m_o.dockerfile_text, m_o.dockerfile_name);
    for (const auto &w : m_df.warnings)
      log::warn(w);
    dockerfile::Stages st = dockerfile::stages(m_df, m_o.build_args, m_o.dockerfile_name);
    m_stages = &st;
    int target = st.target(m_o.target);
    std::vector<int> needed = st.needed(target);
    for (int s : needed)
      m_total += 1 + static_cast<int>(st.stages[s].end - st.stages[s].first);
    m_total += m_o.labels.empty() ? 0 : 1;
    for (const auto &[k, v] : st.global_args)
      m_consumed.insert(k);

    build_run::remove_stale(m_store.root());
    mounts::enter_private_namespace("the build's workspaces are mounted for this process only");
    m_lock.emplace(m_store.lock_for_pull()); // tmp/ is ours, no clean-up runs meanwhile
    build_context::Context ctx(m_o.context, {m_o.dockerfile_rel});
    m_ctx = &ctx;

    for (int s : needed) {
      m_done[s] = stage(st.stages[s]);
    }
    State &last = m_done[target];
    if (!m_o.labels.empty()) {
      // docker's classic builder: --label is a LABEL step at the end of the last stage
      std::string words = "LABEL";
      json::Value doc = last.doc;
      json::Value *config = doc.find("config");
      json::Value *labels = config->find("Labels");
      if (!labels || !labels->is_object())
        labels = &config->set("Labels", json::Value::object());
      for (const auto &[k, v] : m_o.labels) {
        labels->set(k, v);
        words += cat(" ", k, "=", v);
      }
      ++m_step;
      say("STEP ", m_step, "/", m_total, ": ", words);
      std::string created_by = nop(last, words);
      std::string key = key_of(last, created_by);
      if (!from_cache(last, key))
        commit_step(last, std::move(doc), created_by, std::nullopt, key);
    }
    if (last.image.id.empty())
      fail("no image was generated: the target stage is FROM scratch with no steps");
    for (const auto &[k, v] : m_o.build_args)
      if (!m_consumed.count(k) && !dockerfile::is_predefined_arg(k))
        log::warn("one or more build-args [", k, "] were not consumed");
    if (!m_o.tags.empty()) {
      store::ImageRecord tagged = last.image;
      tagged.repo_tags = m_o.tags;
      m_store.add_image(tagged);
    }
    say("Successfully built ", short_id(last.image.id));
    for (const auto &t : m_o.tags)
      say("Successfully tagged ", t);
    return last.image.id;
  }

private:
  template <class... A> void say(const A &...parts) {
    if (!m_o.quiet)
      out::progress_line(cat(parts...));
  }

  void step_line(const dockerfile::Instruction &ins) {
    ++m_step;
    say("STEP ", m_step, "/", m_total, ": ", ins.original);
  }

  std::string key_of(const State &s, const std::string &created_by) const {
    return digest::sha256(cat(s.image.id, '\n', created_by, '\n'));
  }

  // The cached image for key, unless the cache is off or missed already.
  bool from_cache(State &s, const std::string &key) {
    if (m_no_cache)
      return false;
    for (const auto &img : m_store.images()) {
      if (img.build_key != key || img.parent != s.image.id)
        continue;
      auto body = m_store.read_blob(img.id, image::max_config_size);
      bool layers_there = std::all_of(img.layers.begin(), img.layers.end(),
                                      [&](const std::string &l) { return m_store.has_layer(l); });
      if (!body || !layers_there)
        continue;
      s.image = img;
      s.doc = json::parse(*body, "image config " + img.id);
      say(" ---> Using cache");
      say(" ---> ", short_id(img.id));
      return true;
    }
    m_no_cache = true; // docker: a miss invalidates every later step
    return false;
  }

  // The step's image: doc (already edited) with its history entry, the layer on top.
  void commit_step(State &s, json::Value doc, const std::string &created_by,
                   const std::optional<commit::Layer> &layer, const std::string &key) {
    std::string created = commit::created_time(m_o.epoch);
    doc.set("created", created);
    bool empty = !layer || layer->entries == 0;
    if (!empty) {
      json::Value *rootfs = doc.find("rootfs");
      std::vector<std::string> ids = json::string_list(rootfs->find("diff_ids"));
      ids.push_back(layer->diff_id);
      rootfs->set("diff_ids", json::string_array(ids));
    }
    json::Value entry = json::Value::object();
    entry.set("created", created);
    entry.set("created_by", created_by);
    if (empty)
      entry.set("empty_layer", true);
    json::Value *history = doc.find("history");
    history->push(std::move(entry));
    if (!empty && s.image.layers.size() + 1 > image::max_layers)
      fail("the image would have more than ", image::max_layers, " layers");
    std::string text = doc.dump();
    s.image = commit::register_image(m_store, s.image, text,
                                     empty ? std::nullopt : std::optional(*layer), created, {}, key);
    s.doc = std::move(doc);
    say(" ---> ", short_id(s.image.id));
  }

  std::string nop(const State &s, const std::string &words) const {
    return text::join(build_config::shell(s.doc), " ") + " #(nop) " + words;
  }

  void config_step(State &s, const dockerfile::Instruction &ins, build_config::StageVars &vars) {
    json::Value doc = s.doc;
    std::string words = build_config::apply(doc, ins, vars, m_o.dockerfile_name);
    if (ins.keyword == "ARG")
      for (const auto &p : ins.pairs)
        m_consumed.insert(dockerfile::expand(p.key, vars.scope.lookup()));
    std::string created_by = nop(s, words);
    std::string key = key_of(s, created_by);
    if (from_cache(s, key))
      return;
    std::optional<commit::Layer> layer;
    if (ins.keyword == "WORKDIR") { // made in the image, as docker and buildah do
      std::string wd = doc.find("config")->get_string("WorkingDir");
      build_workspace::Workspace ws(m_store, s.image);
      int code = container_root::wait_child(
          container_root::fork_in_root(ws.root_fd(), [&] { sys::mkdir_p(wd, 0755); }));
      if (code != 0)
        throw ExitNow{code};
      layer = ws.store_layer(m_o.epoch);
    }
    commit_step(s, std::move(doc), created_by, layer, key);
  }

  void run_step(State &s, const dockerfile::Instruction &ins, build_config::StageVars &vars) {
    std::vector<std::string> argv = ins.args;
    if (!ins.json) {
      argv = build_config::shell(s.doc);
      argv.push_back(ins.args.empty() ? "" : ins.args[0]);
    }
    // The build args RUN sees, unless the image's ENV sets the same name (docker's rule).
    std::vector<std::string> env;
    const json::Value *cfg = s.doc.find("config");
    std::vector<std::string> image_env = json::string_list(cfg ? cfg->find("Env") : nullptr);
    for (const auto &[k, v] : vars.scope.run_args()) {
      bool set = std::any_of(image_env.begin(), image_env.end(), [&](const std::string &e) {
        return e.compare(0, k.size() + 1, k + "=") == 0;
      });
      if (!set)
        env.push_back(cat(k, "=", v));
    }
    std::string created_by = text::join(argv, " ");
    if (!env.empty()) // docker's "|2 A=1 B=2 /bin/sh -c ...", the args sorted
      created_by = cat("|", env.size(), " ", text::join(env, " "), " ", created_by);
    std::string key = key_of(s, created_by);
    if (from_cache(s, key))
      return;
    if (s.image.id.empty())
      fail("RUN needs a file system to run in: the stage is FROM scratch with nothing in it");
    build_run::Request r;
    r.root = m_store.root();
    r.image_id = s.image.id;
    r.name = "koker-build-" + sys::random_hex(12);
    r.argv = argv;
    r.env = env;
    r.network = m_o.network;
    r.quiet = m_o.quiet;
    int code = build_run::run(r);
    std::optional<container::Record> rec;
    try {
      rec = container::get(m_store.root(), r.name);
    } catch (const Error &) {
    }
    sys::Rollback undo;
    if (rec)
      undo.add("remove container " + r.name,
               [this, rec] { lifecycle::remove(m_store.root(), *rec, true); });
    if (code != 0)
      throw Error(cat("The command '", text::join(argv, " "), "' returned a non-zero code: ", code),
                  1);
    if (!rec)
      fail("the container of the RUN step is gone");
    commit::Layer layer = container_diff::store(m_store, *rec, s.image, m_o.epoch, false);
    undo.run_now();
    commit_step(s, s.doc, created_by, layer, key);
  }

  void copy_step(State &s, const dockerfile::Instruction &ins, build_config::StageVars &vars) {
    dockerfile::Env env = vars.scope.lookup();
    std::vector<std::string> words;
    for (const auto &a : ins.args)
      for (auto &w : ins.json ? std::vector<std::string>{dockerfile::expand(a, env)}
                              : dockerfile::expand_words(a, env))
        words.push_back(std::move(w));
    if (words.size() < 2)
      fail(ins.keyword, " requires at least two arguments");
    std::string dest = words.back();
    words.pop_back();
    bool add = ins.keyword == "ADD";
    for (const auto &w : words)
      if (w.find("://") != std::string::npos || w.compare(0, 4, "git@") == 0)
        fail(ins.keyword, " of a URL is not supported (", printable(w),
             "): koker builds reach no network beyond the host; download it and COPY it");
    std::string wd = s.doc.find("config")->get_string("WorkingDir");
    bool slash = dest.back() == '/' || dest == "." ||
                 (dest.size() >= 2 && dest.substr(dest.size() - 2) == "/.");
    dest = commit::join_workdir(wd, dest);
    if (slash && dest != "/")
      dest += "/";

    std::string from = ins.flag("from") ? dockerfile::expand(*ins.flag("from"), env) : "";
    std::string chown = ins.flag("chown") ? dockerfile::expand(*ins.flag("chown"), env) : "";
    std::string chmod_text = ins.flag("chmod") ? dockerfile::expand(*ins.flag("chmod"), env) : "";
    std::optional<mode_t> chmod;
    if (!chmod_text.empty() && !(chmod = build_copy::parse_chmod(chmod_text)))
      fail("invalid --chmod=", printable(chmod_text), ": expected an octal mode");
    if (add && !from.empty())
      fail("ADD takes no --from (use COPY --from)");

    // Where the sources are: the context, or another stage's or image's root.
    std::unique_ptr<build_workspace::Workspace> other;
    std::unique_ptr<build_context::Context> other_ctx;
    const build_context::Context *ctx = m_ctx;
    if (!from.empty()) {
      store::ImageRecord src = from_image(from);
      other = std::make_unique<build_workspace::Workspace>(m_store, src);
      other_ctx = std::make_unique<build_context::Context>(other->root_path(),
                                                           std::vector<std::string>{}, false);
      ctx = other_ctx.get();
    }
    std::vector<std::string> sources;
    for (const auto &w : words)
      for (auto &r : ctx->sources(w))
        sources.push_back(std::move(r));
    std::vector<std::string> sums;
    for (const auto &r : sources)
      sums.push_back(ctx->checksum(r));
    std::string sum = sums.size() == 1
                          ? sums[0]
                          : "multi:" + digest::hex_of(digest::sha256(text::join(sums, "\n")));
    std::string flags;
    if (!from.empty())
      flags += " --from=" + from;
    if (!chown.empty())
      flags += " --chown=" + chown;
    if (chmod)
      flags += " --chmod=" + chmod_text;
    std::string created_by = nop(s, cat(ins.keyword, flags, " ", sum, " in ", dest, " "));
    std::string key = key_of(s, created_by);
    if (from_cache(s, key))
      return;
    build_workspace::Workspace ws(m_store, s.image);
    build_copy::Request r;
    r.add = add;
    r.from = ctx;
    r.sources = sources;
    r.dest = dest;
    r.chown = chown;
    r.chmod = chmod;
    build_copy::copy(ws, r);
    commit::Layer layer = ws.store_layer(m_o.epoch);
    commit_step(s, s.doc, created_by, layer, key);
  }

  // COPY --from: an earlier stage (by name or number), else an image.
  store::ImageRecord from_image(const std::string &from) {
    std::string lower = text::lower(from);
    for (const auto &[idx, state] : m_done) {
      const auto &stage = m_stages->stages[idx];
      if ((!stage.name.empty() && stage.name == lower) || std::to_string(idx) == from) {
        if (state.image.id.empty())
          fail("COPY --from=", from, ": the stage has no files (FROM scratch with no steps)");
        return state.image;
      }
    }
    return image::find_or_pull(m_store, from, m_o.pull ? "always" : "missing", "");
  }

  State from_step(const dockerfile::Stage &stage) {
    State s;
    if (stage.base_stage >= 0) {
      s = m_done.at(stage.base_stage);
      s.doc = child_doc(s.doc);
    } else if (text::lower(stage.base) == "scratch") {
      s.doc = scratch_doc();
    } else {
      s.image = image::find_or_pull(m_store, stage.base, m_o.pull ? "always" : "missing",
                                    stage.platform);
      auto body = m_store.read_blob(s.image.id, image::max_config_size);
      if (!body)
        fail("unable to read the config of image ", s.image.id);
      s.doc = child_doc(json::parse(*body, "image config " + s.image.id));
    }
    if (!s.image.id.empty())
      say(" ---> ", short_id(s.image.id));
    return s;
  }

  void instruction(State &s, const dockerfile::Instruction &ins, build_config::StageVars &vars) {
    try {
      const std::string &k = ins.keyword;
      if (k == "RUN")
        run_step(s, ins, vars);
      else if (k == "COPY" || k == "ADD")
        copy_step(s, ins, vars);
      else
        config_step(s, ins, vars);
    } catch (const Error &e) {
      std::string where = cat(m_o.dockerfile_name, ":", ins.line, " (step ", m_step, "/",
                              m_total, "): ");
      if (e.exit_code() == 1) // a RUN's command failed: docker's message, exit 1
        throw Error(where + e.what(), 1);
      bool copy = ins.keyword == "COPY" || ins.keyword == "ADD";
      throw Error(cat(where, ins.keyword, copy ? " failed: " : ": ", e.what()), e.exit_code(),
                  e.sys_errno());
    }
  }

  State stage(const dockerfile::Stage &stage) {
    const dockerfile::Instruction &from = m_df.instructions[stage.first - 1];
    step_line(from);
    State s = from_step(stage);
    build_config::StageVars vars{dockerfile::Scope(m_stages->global_args, m_o.build_args, m_df.escape),
                                 false};
    const json::Value *cfg = s.doc.find("config");
    for (const auto &e : json::string_list(cfg ? cfg->find("Env") : nullptr)) {
      auto eq = e.find('=');
      if (eq != std::string::npos)
        vars.scope.set_env(e.substr(0, eq), e.substr(eq + 1));
    }
    // ONBUILD triggers of the base image run first; the child keeps none of them.
    std::vector<std::string> triggers = json::string_list(cfg ? cfg->find("OnBuild") : nullptr);
    if (!triggers.empty()) {
      s.doc.find("config")->set("OnBuild", json::Value());
      say("# executing ", triggers.size(), " build trigger", triggers.size() == 1 ? "" : "s");
      for (const auto &t : triggers) {
        dockerfile::Dockerfile trig = dockerfile::parse(t, m_o.dockerfile_name + " (ONBUILD)");
        for (const auto &ins : trig.instructions) {
          say("ONBUILD ", ins.original);
          instruction(s, ins, vars);
        }
      }
    }
    for (size_t i = stage.first; i < stage.end; ++i) {
      const dockerfile::Instruction &ins = m_df.instructions[i];
      step_line(ins);
      instruction(s, ins, vars);
    }
    return s;
  }

  store::Store &m_store;
  const Options &m_o;
  dockerfile::Dockerfile m_df;
  const dockerfile::Stages *m_stages = nullptr;
  const build_context::Context *m_ctx = nullptr;
  std::optional<sys::FileLock> m_lock;
  std::map<int, State> m_done;
  std::set<std::string> m_consumed;
  int m_total = 0, m_step = 0;
  bool m_no_cache = m_o.no_cache;
};

} // namespace

std::string build(store::Store &store, const Options &o) { return Builder(store, o).run(); }

} // namespace koker::builder
