// SPDX-License-Identifier: MIT
#include "build/config_step.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "image/commit.hpp"
#include <cmath>

namespace koker::build_config {
namespace {

json::Value &config_of(json::Value &doc) {
  json::Value *c = doc.find("config");
  if (!c || !c->is_object())
    c = &doc.set("config", json::Value::object());
  return *c;
}

json::Value &member_object(json::Value &config, std::string_view key) {
  json::Value *v = config.find(key);
  if (!v || !v->is_object())
    v = &config.set(key, json::Value::object());
  return *v;
}

// A command of CMD, ENTRYPOINT or HEALTHCHECK CMD: the JSON form as given, else SHELL + text.
std::vector<std::string> command(const dockerfile::Instruction &ins, const json::Value &doc) {
  if (ins.json)
    return ins.args;
  std::vector<std::string> cmd = shell(doc);
  cmd.push_back(ins.args.empty() ? "" : ins.args[0]);
  return cmd;
}

// The words of VOLUME and EXPOSE, substituted.
std::vector<std::string> words(const dockerfile::Instruction &ins, const dockerfile::Env &env,
                               char escape) {
  std::vector<std::string> out;
  for (const auto &a : ins.args)
    for (auto &w : ins.json ? std::vector<std::string>{dockerfile::expand(a, env, escape)}
                            : dockerfile::expand_words(a, env, escape))
      out.push_back(std::move(w));
  return out;
}

std::string one_arg(const dockerfile::Instruction &ins, const dockerfile::Env &env, char escape) {
  return dockerfile::expand(ins.args.empty() ? "" : ins.args[0], env, escape);
}

[[noreturn]] void bad(const dockerfile::Instruction &ins, const std::string &file,
                      const std::string &why) {
  fail(file, ":", ins.line, ": ", ins.keyword, ": ", why);
}

} // namespace

std::vector<std::string> shell(const json::Value &doc) {
  const json::Value *c = doc.find("config");
  std::vector<std::string> s = json::string_list(c ? c->find("Shell") : nullptr);
  return s.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : s;
}

std::optional<int64_t> parse_duration(std::string_view text) {
  static const std::pair<std::string_view, double> units[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  if (text == "0")
    return 0;
  if (text.empty())
    return std::nullopt;
  double total = 0;
  while (!text.empty()) {
    size_t i = 0;
    while (i < text.size() && (text::is_digit(text[i]) || text[i] == '.'))
      ++i;
    if (i == 0)
      return std::nullopt;
    double n = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
    text.remove_prefix(i);
    size_t j = 0;
    while (j < text.size() && !text::is_digit(text[j]) && text[j] != '.')
      ++j;
    std::string_view unit = text.substr(0, j);
    text.remove_prefix(j);
    bool found = false;
    for (const auto &[name, scale] : units)
      if (unit == name) {
        total += n * scale;
        found = true;
      }
    if (!found)
      return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(total));
}

std::string apply(json::Value &doc, const dockerfile::Instruction &ins, StageVars &vars,
                  const std::string &file_name) {
  json::Value &config = config_of(doc);
  const std::string &k = ins.keyword;
  char esc = '\\';
  dockerfile::Env env = vars.scope.lookup();
  if (k == "ENV") {
    vars.scope.apply_env(ins.pairs);
    std::string said = "ENV";
    for (const auto &p : ins.pairs) {
      std::string key = dockerfile::expand(p.key, env, esc);
      std::string value = vars.scope.env().at(key);
      commit::set_env(config, key, value);
      said += cat(" ", key, "=", value);
    }
    return said;
  }
  if (k == "ARG") {
    std::string said = "ARG";
    for (const auto &p : ins.pairs) {
      vars.scope.declare(p);
      std::string key = dockerfile::expand(p.key, env, esc);
      said += " " + key;
      if (p.has_value)
        said += "=" + dockerfile::expand(p.value, env, esc);
    }
    return said;
  }
  if (k == "LABEL") {
    json::Value &labels = member_object(config, "Labels");
    std::string said = "LABEL";
    for (const auto &p : ins.pairs) {
      std::string key = dockerfile::expand(p.key, env, esc);
      std::string value = dockerfile::expand(p.value, env, esc);
      if (key.empty())
        bad(ins, file_name, "a label's name can not be blank");
      labels.set(key, value);
      said += cat(" ", key, "=", value);
    }
    return said;
  }
  if (k == "CMD") {
    std::vector<std::string> cmd = command(ins, doc);
    config.set("Cmd", json::string_array(cmd));
    vars.cmd_set = true;
    return "CMD " + json::string_array(cmd).dump();
  }
  if (k == "ENTRYPOINT") {
    std::vector<std::string> ep = command(ins, doc);
    if (!ins.json && (ins.args.empty() || ins.args[0].empty()))
      ep.clear(); // ENTRYPOINT with nothing: none
    config.set("Entrypoint", ep.empty() ? json::Value() : json::string_array(ep));
    if (!vars.cmd_set) // docker: an ENTRYPOINT resets the CMD the base image set
      config.set("Cmd", json::Value());
    return "ENTRYPOINT " + json::string_array(ep).dump();
  }
  if (k == "EXPOSE") {
    json::Value &ports = member_object(config, "ExposedPorts");
    std::vector<std::string> keys;
    for (const auto &w : words(ins, env, esc)) {
      keys.push_back(commit::port_key(ins.original, w));
      ports.set(keys.back(), json::Value::object());
    }
    return "EXPOSE " + text::join(keys, " ");
  }
  if (k == "VOLUME") {
    std::vector<std::string> list = words(ins, env, esc);
    if (list.empty())
      bad(ins, file_name, "VOLUME needs at least one path");
    json::Value &volumes = member_object(config, "Volumes");
    for (const auto &v : list) {
      if (v.empty())
        bad(ins, file_name, "VOLUME specified can not be an empty string");
      volumes.set(v, json::Value::object());
    }
    return "VOLUME " + json::string_array(list).dump();
  }
  if (k == "USER") {
    std::string u = one_arg(ins, env, esc);
    if (u.empty())
      bad(ins, file_name, "USER needs a user");
    config.set("User", u);
    return "USER " + u;
  }
  if (k == "WORKDIR") {
    std::string dir = one_arg(ins, env, esc);
    if (dir.empty())
      bad(ins, file_name, "WORKDIR needs a path");
    std::string wd = commit::join_workdir(config.get_string("WorkingDir"), dir);
    config.set("WorkingDir", wd);
    return "WORKDIR " + wd;
  }
  if (k == "STOPSIGNAL") {
    std::string sig = one_arg(ins, env, esc);
    if (sig.empty())
      bad(ins, file_name, "STOPSIGNAL needs a signal");
    config.set("StopSignal", sig);
    return "STOPSIGNAL " + sig;
  }
  if (k == "SHELL") {
    if (!ins.json || ins.args.empty())
      bad(ins, file_name, "SHELL requires the arguments to be in JSON form");
    config.set("Shell", json::string_array(ins.args));
    return "SHELL " + json::string_array(ins.args).dump();
  }
  if (k == "MAINTAINER") {
    std::string who = ins.args.empty() ? "" : ins.args[0];
    doc.set("author", who);
    return "MAINTAINER " + who;
  }
  if (k == "HEALTHCHECK") {
    json::Value hc = json::Value::object();
    if (ins.health_type == "NONE") {
      hc.set("Test", json::string_array({"NONE"}));
    } else {
      std::vector<std::string> test;
      if (ins.json) {
        test = ins.args;
        test.insert(test.begin(), "CMD");
      } else {
        test = {"CMD-SHELL", ins.args.empty() ? "" : ins.args[0]};
      }
      hc.set("Test", json::string_array(test));
      for (const auto &[flag, key] : std::vector<std::pair<std::string, std::string>>{
               {"interval", "Interval"},
               {"timeout", "Timeout"},
               {"start-period", "StartPeriod"},
               {"start-interval", "StartInterval"}}) {
        if (auto v = ins.flag(flag)) {
          auto ns = parse_duration(*v);
          if (!ns || *ns < 0)
            bad(ins, file_name, cat("invalid --", flag, " ", printable(*v), ": expected a duration"));
          if (*ns != 0 && *ns < 1000000)
            bad(ins, file_name, cat("--", flag, " can not be less than 1ms"));
          hc.set(key, json::Value(*ns));
        }
      }
      if (auto v = ins.flag("retries")) {
        auto n = sys::parse_uint(*v);
        if (!n || *n > 1000000)
          bad(ins, file_name, cat("invalid --retries ", printable(*v)));
        hc.set("Retries", json::Value(*n));
      }
    }
    std::string said = "HEALTHCHECK " + hc.find("Test")->dump();
    config.set("Healthcheck", std::move(hc));
    return said;
  }
  if (k == "ONBUILD") {
    if (ins.trigger.empty())
      bad(ins, file_name, "ONBUILD needs an instruction");
    // The trigger as written, without the ONBUILD: docker stores "RUN echo hi".
    std::string text(text::trim(ins.original));
    size_t blank = text.find_first_of(" \t");
    std::string trigger(text::trim(text.substr(blank == std::string::npos ? text.size() : blank)));
    json::Value *onbuild = config.find("OnBuild");
    if (!onbuild || !onbuild->is_array())
      onbuild = &config.set("OnBuild", json::Value::array());
    onbuild->push(trigger);
    return "ONBUILD " + trigger;
  }
  bad(ins, file_name, "not an instruction that changes only the config");
}

} // namespace koker::build_config
