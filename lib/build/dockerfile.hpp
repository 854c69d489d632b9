// SPDX-License-Identifier: MIT
#pragma once
// Dockerfiles (and Containerfiles) as BuildKit's frontend reads them: the parser (lines,
// continuations, comments, parser directives, instructions with their flags and arguments),
// the builder's variable substitution (BuildKit's shell lexer), and the stage model (ARG
// scopes, --build-arg, --target and the stages a target needs). Pure functions of their
// input: nothing here touches the host. The rules and the decisions are in docs/build.md.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace koker::dockerfile {

// A builder flag as written before the arguments: --from=build, --link (no value).
struct Flag {
  std::string name;  // without the dashes: "from"
  std::string value; // quotes removed, not substituted
  bool has_value = false;
};

// One pair of ENV, LABEL or ARG. Quotes and escapes are still in key and value: substitution
// removes them, as BuildKit's does. ARG NAME has no value.
struct KeyValue {
  std::string key;
  std::string value;
  bool has_value = true;
};

struct Instruction {
  int line = 0;          // the first line of the instruction, from 1
  std::string keyword;   // upper case: "RUN"
  std::string original;  // the instruction's text, continuations joined: "run echo hi"
  std::vector<Flag> flags;
  // Exec form (a JSON array of strings): json is true and args are the strings. Otherwise:
  // RUN CMD ENTRYPOINT SHELL VOLUME HEALTHCHECK's command, USER WORKDIR STOPSIGNAL
  // MAINTAINER: one argument, the raw text; FROM COPY ADD EXPOSE: the whitespace-separated
  // words; ENV LABEL ARG: args empty, pairs set; ONBUILD: args empty, trigger set.
  bool json = false;
  std::vector<std::string> args;
  std::vector<KeyValue> pairs;
  std::vector<Instruction> trigger; // ONBUILD: the one instruction it wraps
  std::string health_type;          // HEALTHCHECK: "CMD" or "NONE"

  // The flag's value, or nullopt when the instruction has no such flag.
  std::optional<std::string> flag(std::string_view name) const;
};

struct Dockerfile {
  char escape = '\\';   // from "# escape=" (\ or `)
  std::string syntax;   // from "# syntax=": accepted, not used
  std::vector<Instruction> instructions;
  std::vector<std::string> warnings; // "Dockerfile:4: empty continuation line", ...
};

// Parses a Dockerfile's text. file_name is only for messages. Throws Error (exit 125) with
// one line naming the file, the line and the instruction: "Dockerfile:7: unknown
// instruction: RUNN".
Dockerfile parse(std::string_view text, const std::string &file_name);

// ---- Substitution ------------------------------------------------------------------------

// The variables a word is expanded with: name -> value. A name that is absent is unset.
using Env = std::map<std::string, std::string>;

// One word through BuildKit's shell lexer: $v ${v} ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?w}
// ${v?w}, '...' literal, "..." with $ expanded and \ escaping only " $ and \, the escape
// character escaping anything outside quotes. Returns the word with quotes and escapes
// removed. Throws Error("bad substitution ...") on a malformed word.
std::string expand(std::string_view word, const Env &env, char escape = '\\');
// The same, split into words where unquoted blanks are (also blanks that came from an
// unquoted variable), as a shell splits a command line.
std::vector<std::string> expand_words(std::string_view text, const Env &env, char escape = '\\');

// The instructions the builder substitutes variables in (docker's "Environment replacement"
// list plus ARG's defaults): ADD ARG COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME
// WORKDIR, and ONBUILD's trigger when it runs. Not RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK.
bool substitutes(std::string_view keyword);

// The ARGs docker predefines: they need no ARG line to reach RUN.
bool is_predefined_arg(std::string_view name);

// ---- Stages ------------------------------------------------------------------------------

struct Stage {
  int index = 0;
  std::string name;           // lower case; empty without AS
  std::string base;           // FROM's image, substituted with the global args
  int base_stage = -1;        // the earlier stage FROM names, or -1 for an image or scratch
  std::string platform;       // FROM --platform, substituted
  size_t first = 0, end = 0;  // its instructions: [first, end) of Dockerfile::instructions,
                              // FROM excluded
  std::vector<int> copies_from; // stages its COPY --from= name, by index
};

struct Stages {
  std::vector<Stage> stages;
  Env global_args;             // ARGs before the first FROM, with --build-arg applied
  std::vector<std::string> global_order; // their names, in order
  // The stage --target names (case-insensitive), or the last one for an empty target.
  int target(std::string_view name) const;
  // The stages the target needs, in build order (dependencies first); the others are
  // skipped. Throws Error on a cycle: "circular dependency detected on stage: a".
  std::vector<int> needed(int target) const;
};

// Splits the instructions into stages: global ARGs (their defaults substituted, build_args
// overriding them), FROM substituted with them, AS names checked (docker's rule: a letter,
// then letters, digits, - _ .; no duplicates). A stage is named case-insensitively; COPY
// --from= a stage name or index. file_name is for messages.
Stages stages(const Dockerfile &df, const Env &build_args, const std::string &file_name);

// The ARG/ENV scope of one stage as the builder walks it. declare() runs an ARG pair, env()
// sets an ENV variable; lookup() is what substitution sees: ENV wins over ARG.
class Scope {
public:
  Scope(const Env &global_args, const Env &build_args, char escape)
      : m_global(global_args), m_build_args(build_args), m_escape(escape) {}
  // ARG NAME[=default]: the value is the --build-arg if given, else the default
  // (substituted with this scope), else, for a bare ARG NAME, the global ARG's value.
  void declare(const KeyValue &arg);
  void set_env(const std::string &name, const std::string &value) { m_env[name] = value; }
  const Env &env() const { return m_env; }
  char escape() const { return m_escape; } // the Dockerfile's escape character
  const Env &args() const { return m_args; }
  // The variables substitution sees: the stage's ARGs, overridden by its ENV.
  Env lookup() const;
  // The build args RUN sees: the declared ARGs, and the predefined proxy args given with
  // --build-arg (docker's "|N A=1 B=2" history prefix is made from these).
  Env run_args() const;
  // ENV pairs substituted with the environment BEFORE the instruction (BuildKit: ENV a=1
  // b=$a gives b the old a), then applied.
  void apply_env(const std::vector<KeyValue> &pairs);

private:
  Env m_global, m_build_args, m_env, m_args;
  char m_escape;
};

} // namespace koker::dockerfile
