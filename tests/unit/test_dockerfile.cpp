// SPDX-License-Identifier: MIT
// The Dockerfile parser, substitution and stage model against BuildKit's documented rules
// and its corner cases. Where docker's behaviour was checked with buildah 1.28 (buildah bud
// --isolation chroot, FROM scratch, no network), the test says so.
#include "check.hpp"
#include "base/error.hpp"
#include "build/dockerfile.hpp"

#include <string>

using namespace koker;
using namespace koker::dockerfile;

namespace {

// The message parse throws, or "" when it parses.
std::string parse_error(const std::string &text) {
  try {
    parse(text, "Dockerfile");
  } catch (const Error &e) {
    CHECK(e.exit_code() == 125);
    return e.what();
  }
  return "";
}

std::string expand_error(const std::string &word, const Env &env = {}) {
  try {
    expand(word, env);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

} // namespace

TEST("dockerfile: case-insensitive instructions, comments only at line start") {
  Dockerfile df = parse("from scratch\n  # a comment\nRuN echo hi # not a comment\n"
                        "\t# indented comment\ncmd [\"a\"]\n",
                        "Dockerfile");
  CHECK(df.instructions.size() == 3);
  CHECK(df.instructions[0].keyword == "FROM" && df.instructions[0].line == 1);
  CHECK(df.instructions[1].keyword == "RUN" && df.instructions[1].line == 3);
  CHECK(df.instructions[1].args.size() == 1 && df.instructions[1].args[0] == "echo hi # not a comment");
  CHECK(!df.instructions[1].json);
  CHECK(df.instructions[1].original == "RuN echo hi # not a comment");
  CHECK(df.instructions[2].json && df.instructions[2].args == std::vector<std::string>{"a"});
}

TEST("dockerfile: continuations with comment and empty lines inside") {
  Dockerfile df = parse("FROM scratch\nRUN echo a \\\n# inside\n   # indented inside\n\n  b \\  \n c\nUSER x\n",
                        "Dockerfile");
  CHECK(df.instructions.size() == 3);
  const Instruction &run = df.instructions[1];
  CHECK(run.line == 2);
  // BuildKit joins the parts as they are: the blanks before "\" kept, the next line's kept.
  CHECK(run.args[0] == "echo a   b  c");
  CHECK(df.instructions[2].line == 8);
  CHECK(df.warnings.size() == 1 && has(df.warnings[0], "Dockerfile:2: empty continuation line"));
  // A continuation at the end of the file ends the instruction.
  CHECK(parse("FROM scratch\nRUN a \\", "Dockerfile").instructions[1].args[0] == "a");
  // CRLF files: the \r is not part of the line, so "\\\r\n" still continues.
  Dockerfile crlf = parse("FROM scratch\r\nRUN a \\\r\n b\r\n", "Dockerfile");
  CHECK(crlf.instructions.size() == 2 && crlf.instructions[1].args[0] == "a  b");
}

TEST("dockerfile: parser directives only before the first instruction or comment") {
  Dockerfile df = parse("# escape=`\n# syntax=docker/dockerfile:1\nFROM scratch\r\nRUN dir c:\\ `\r\n  /s\r\n",
                        "Dockerfile");
  CHECK(df.escape == '`' && df.syntax == "docker/dockerfile:1");
  CHECK(df.instructions.size() == 2 && df.instructions[1].args[0] == "dir c:\\   /s");
  // Blanks around the key and =, any case.
  CHECK(parse("#\tEsCaPe =  `\nFROM scratch\n", "Dockerfile").escape == '`');
  // After a comment, an empty line or an instruction a directive is only a comment.
  CHECK(parse("# hello\n# escape=`\nFROM scratch\n", "Dockerfile").escape == '\\');
  CHECK(parse("\n# escape=`\nFROM scratch\n", "Dockerfile").escape == '\\');
  CHECK(parse("FROM scratch\n# escape=`\n", "Dockerfile").escape == '\\');
  // An unknown directive is a comment, and ends the directives.
  CHECK(parse("# unknowndirective=value\n# escape=`\nFROM scratch\n", "Dockerfile").escape == '\\');
  CHECK(has(parse_error("# escape=x\nFROM scratch\n"), "Dockerfile:1: invalid escape token 'x'"));
  CHECK(has(parse_error("# escape=`\n# escape=\\\nFROM scratch\n"), "Dockerfile:2: only one escape"));
  // With ` as the escape character, "\" at the end of a line is text.
  Dockerfile bt = parse("# escape=`\nFROM scratch\nRUN a\\\nRUN b\n", "Dockerfile");
  CHECK(bt.instructions.size() == 3 && bt.instructions[1].args[0] == "a\\");
}

TEST("dockerfile: unknown and malformed instructions name the file, line and instruction") {
  CHECK(parse_error("FROM scratch\n\n\n\n\n\nRUNN x\n") ==
        "Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)");
  CHECK(parse_error("FROM scratch\nfoo bar\n") == "Dockerfile:2: unknown instruction: foo");
  CHECK(has(parse_error("FROM\n"), "Dockerfile:1: FROM requires either one or three"));
  CHECK(has(parse_error("FROM a b\n"), "Dockerfile:1: FROM requires"));
  CHECK(has(parse_error("FROM scratch\nENV\n"), "Dockerfile:2: ENV requires at least one argument"));
  CHECK(has(parse_error("FROM scratch\nENV a\n"), "Dockerfile:2: ENV must have two arguments"));
  CHECK(has(parse_error("FROM scratch\nENV a=1 b\n"), "can't find = in \"b\""));
  CHECK(has(parse_error("FROM scratch\nENV =1\n"), "ENV names can not be blank"));
  CHECK(has(parse_error("FROM scratch\nCOPY a\n"), "Dockerfile:2: COPY requires at least two arguments"));
  CHECK(has(parse_error("FROM scratch\nADD [\"a\"]\n"), "ADD requires at least two"));
  CHECK(has(parse_error("FROM scratch\nUSER\n"), "USER requires exactly one argument"));
  CHECK(has(parse_error("FROM scratch\nWORKDIR  \n"), "WORKDIR requires exactly one argument"));
  CHECK(has(parse_error("FROM scratch\nEXPOSE\n"), "EXPOSE requires at least one argument"));
  CHECK(has(parse_error("FROM scratch\nSHELL /bin/sh -c\n"), "SHELL requires the arguments to be in JSON form"));
  CHECK(has(parse_error("FROM scratch\nRUN\n"), "RUN requires at least one argument"));
  CHECK(has(parse_error("FROM scratch\nCMD [\"a\", 1]\n"), "arrays must be comprised of strings only"));
  CHECK(has(parse_error("FROM scratch\nHEALTHCHECK PING x\n"), "unknown type \"PING\" in HEALTHCHECK"));
  CHECK(has(parse_error("FROM scratch\nHEALTHCHECK NONE x\n"), "HEALTHCHECK NONE takes no arguments"));
  CHECK(has(parse_error("FROM scratch\nARG\n"), "ARG requires at least one argument"));
  // One line, even when the input carries control bytes.
  CHECK(!has(parse_error("FROM scratch\nRU\x1bN x\n"), "\x1b"));
}

TEST("dockerfile: flags") {
  Dockerfile df = parse("FROM --platform=linux/amd64 scratch AS b\n"
                        "COPY --from=b --chown=1:2 --chmod=0644 --link a /b\n"
                        "COPY --chown=\"a b\" x y\n"
                        "HEALTHCHECK --interval=5s --retries=3 CMD [\"true\"]\n",
                        "Dockerfile");
  CHECK(df.instructions[0].flag("platform") == std::optional<std::string>("linux/amd64"));
  CHECK(df.instructions[0].args == (std::vector<std::string>{"scratch", "AS", "b"}));
  const Instruction &copy = df.instructions[1];
  CHECK(copy.flag("from") == std::optional<std::string>("b") && copy.flag("chown") == std::optional<std::string>("1:2"));
  CHECK(copy.flag("chmod") == std::optional<std::string>("0644") && copy.flag("link").has_value());
  CHECK(!copy.flag("platform").has_value());
  CHECK(copy.args == (std::vector<std::string>{"a", "/b"}));
  // Quotes in a flag are removed, as BuildKit's extractBuilderFlags does.
  CHECK(df.instructions[2].flag("chown") == std::optional<std::string>("a b"));
  const Instruction &hc = df.instructions[3];
  CHECK(hc.health_type == "CMD" && hc.json && hc.args == std::vector<std::string>{"true"});
  CHECK(hc.flag("interval") == std::optional<std::string>("5s"));
  // "--" ends the flags.
  CHECK(parse("FROM scratch\nCOPY -- --x y\n", "Dockerfile").instructions[1].args[0] == "--x");
  CHECK(has(parse_error("FROM scratch\nCOPY --nope=1 a b\n"), "Dockerfile:2: unknown flag: --nope (COPY)"));
  CHECK(has(parse_error("FROM scratch\nRUN --mount=type=cache,target=/x true\n"),
            "BuildKit-only flag, not supported: --mount (RUN)"));
  CHECK(has(parse_error("FROM scratch\nADD --checksum=sha256:00 a b\n"), "BuildKit-only flag"));
  CHECK(has(parse_error("FROM scratch\nADD --from=x a b\n"), "unknown flag: --from (ADD)"));
  CHECK(has(parse_error("FROM scratch\nCOPY --from a b\n"), "missing a value on flag --from"));
  CHECK(has(parse_error("FROM scratch\nCOPY --from=a --from=b a b\n"), "duplicate flag specified: --from"));
  CHECK(has(parse_error("FROM scratch\nENV --x=1\n"), "unknown flag: --x (ENV)"));
}

TEST("dockerfile: exec form, and invalid JSON falling back to shell form") {
  Dockerfile df = parse("FROM scratch\n"
                        "CMD [\"echo\", \"a b\", \"\\u00e9\\n\"]\n"
                        "ENTRYPOINT ['sh', '-c']\n"
                        "RUN [\"a\" \"b\"]\n"
                        "CMD [\"a\"] x\n"
                        "COPY [\"a b\", \"c\"]\n"
                        "COPY ['a', 'b']\n"
                        "VOLUME [\"/v1\", \"/v2\"]\n"
                        "VOLUME /v3 /v4\n"
                        "SHELL [\"/bin/bash\", \"-c\"]\n",
                        "Dockerfile");
  const auto &in = df.instructions;
  CHECK(in[1].json && in[1].args == (std::vector<std::string>{"echo", "a b", "\xc3\xa9\n"}));
  // Single quotes are not JSON: the shell form, the text as written.
  CHECK(!in[2].json && in[2].args == std::vector<std::string>{"['sh', '-c']"});
  CHECK(!in[3].json && in[3].args[0] == "[\"a\" \"b\"]");
  CHECK(!in[4].json && in[4].args[0] == "[\"a\"] x");
  CHECK(in[5].json && in[5].args == (std::vector<std::string>{"a b", "c"}));
  // COPY's shell form is split on blanks, quotes or not (docker: use JSON for blanks).
  CHECK(!in[6].json && in[6].args == (std::vector<std::string>{"['a',", "'b']"}));
  CHECK(in[7].json && in[7].args == (std::vector<std::string>{"/v1", "/v2"}));
  CHECK(!in[8].json && in[8].args == (std::vector<std::string>{"/v3", "/v4"}));
  CHECK(in[9].json && in[9].args.size() == 2);
  // Strict JSON as Go reads it: a trailing comma or an unknown escape is the shell form; a
  // surrogate pair is one character; [] is an empty exec form.
  auto cmd = [](const std::string &rest) { return parse("FROM scratch\nCMD " + rest + "\n", "Dockerfile").instructions[1]; };
  CHECK(!cmd("[\"a\",]").json && !cmd("[\"\\q\"]").json && !cmd("[\"a\"").json);
  CHECK(cmd("[\"\\ud83d\\ude00\"]").args[0] == "\xf0\x9f\x98\x80");
  CHECK(cmd(" [ ] ").json && cmd("[]").args.empty());
  CHECK(cmd("[\"a\" , \"b\"]  ").args.size() == 2);
}

TEST("dockerfile: ENV, LABEL and ARG pairs") {
  Dockerfile df = parse("FROM scratch\n"
                        "ENV a=1 b=\"x y\" c=z\\ w\n"
                        "ENV legacy value with  spaces\n"
                        "LABEL \"com.example.name\"=\"A B\" version=1.0 desc='it''s'\n"
                        "ARG A B=2 C=\n"
                        "EXPOSE 80/tcp 443\n",
                        "Dockerfile");
  const auto &env = df.instructions[1].pairs;
  CHECK(env.size() == 3 && env[0].key == "a" && env[0].value == "1");
  CHECK(env[1].value == "\"x y\"" && env[2].value == "z\\ w"); // quotes go at substitution
  CHECK(expand(env[1].value, {}) == "x y" && expand(env[2].value, {}) == "z w");
  const auto &legacy = df.instructions[2].pairs;
  CHECK(legacy.size() == 1 && legacy[0].key == "legacy" && legacy[0].value == "value with  spaces");
  const auto &label = df.instructions[3].pairs;
  CHECK(label.size() == 3 && expand(label[0].key, {}) == "com.example.name");
  CHECK(expand(label[0].value, {}) == "A B" && expand(label[2].value, {}) == "its");
  const auto &arg = df.instructions[4].pairs;
  CHECK(arg.size() == 3 && !arg[0].has_value && arg[1].value == "2" && arg[2].has_value && arg[2].value.empty());
  CHECK(df.instructions[5].args == (std::vector<std::string>{"80/tcp", "443"}));
}

TEST("dockerfile: ONBUILD wraps one instruction") {
  Dockerfile df = parse("FROM scratch\nonbuild copy --chown=1 a /b\nONBUILD RUN echo hi\n", "Dockerfile");
  const Instruction &ob = df.instructions[1];
  CHECK(ob.keyword == "ONBUILD" && ob.trigger.size() == 1);
  CHECK(ob.trigger[0].keyword == "COPY" && ob.trigger[0].original == "copy --chown=1 a /b");
  CHECK(ob.trigger[0].flag("chown") == std::optional<std::string>("1"));
  CHECK(ob.trigger[0].args == (std::vector<std::string>{"a", "/b"}));
  CHECK(df.instructions[2].trigger[0].args[0] == "echo hi");
  CHECK(has(parse_error("FROM scratch\nONBUILD ONBUILD RUN x\n"), "Dockerfile:2: ONBUILD ONBUILD isn't allowed"));
  CHECK(has(parse_error("FROM scratch\nONBUILD FROM x\n"), "FROM isn't allowed as an ONBUILD trigger"));
  CHECK(has(parse_error("FROM scratch\nONBUILD maintainer x\n"), "MAINTAINER isn't allowed as an ONBUILD trigger"));
  CHECK(has(parse_error("FROM scratch\nONBUILD\n"), "ONBUILD requires at least one argument"));
  CHECK(has(parse_error("FROM scratch\nONBUILD RUNN x\n"), "unknown instruction in ONBUILD: RUNN"));
  CHECK(has(parse_error("FROM scratch\nONBUILD COPY a\n"), "COPY requires at least two"));
}

TEST("dockerfile: heredocs are refused with a clear message") {
  CHECK(has(parse_error("FROM scratch\nRUN <<EOF\necho hi\nEOF\n"), "Dockerfile:2: heredocs (<<EOF) are not supported"));
  CHECK(has(parse_error("FROM scratch\nRUN cat <<-'X' > f\n"), "heredocs"));
  CHECK(has(parse_error("FROM scratch\nCOPY <<EOF /f\nhi\nEOF\n"), "heredocs"));
  // A here-string, and "<<" inside a word, are the shell's business.
  CHECK(parse_error("FROM scratch\nRUN cat <<< hi\n").empty());
  CHECK(parse_error("FROM scratch\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\n").empty());
}

TEST("dockerfile: substitution forms") {
  Env env = {{"a", "A"}, {"empty", ""}, {"w", "W"}, {"sp", "x  y"}};
  CHECK(expand("$a ${a}b $nope-", env) == "A Ab -");
  CHECK(expand("${a:-d} ${nope:-d} ${empty:-d} ${empty-d} ${nope-d}", env) == "A d d  d");
  CHECK(expand("${a:+s} ${nope:+s} ${empty:+s} ${empty+s}", env) == "s   s");
  CHECK(expand("${nope:-${w}} ${nope:-${nope2:-deep}}", env) == "W deep");
  CHECK(expand("${nope:-\"a b\"} ${nope:-'$a'}", env) == "a b $a");
  CHECK(expand("${a:?} ${empty?}", env) == "A ");
  CHECK(has(expand_error("${nope:?must be set}", env), "nope: must be set"));
  CHECK(has(expand_error("${empty:?}", env), "empty: is not allowed to be empty"));
  CHECK(has(expand_error("${nope?}", env), "nope: is not allowed to be unset"));
  // Quotes and escapes.
  CHECK(expand("'$a' \"$a\" \\$a \"\\$a\" '\\$a'", env) == "$a A $a $a \\$a");
  CHECK(expand("\"a\\b\\\"c\\\\\"", env) == "a\\b\"c\\");
  CHECK(expand("a\\ b\\", env) == "a b");
  CHECK(expand("$ $1 ${a}$", env) == "$  A$");
  CHECK(expand("`$a", env, '`') == "$a");
  CHECK(has(expand_error("${a"), "missing '}'"));
  CHECK(has(expand_error("${}"), "bad substitution"));
  CHECK(has(expand_error("${:-x}"), "bad substitution"));
  CHECK(has(expand_error("${a#x}"), "unsupported modifier (#)"));
  CHECK(has(expand_error("'abc"), "matching single-quote"));
  CHECK(has(expand_error("\"abc"), "matching double-quote"));
  // Word splitting: unquoted blanks, also those a variable brings; quoted text sticks.
  CHECK(expand_words("a $sp \"$sp\" 'c d'", env) ==
        (std::vector<std::string>{"a", "x", "y", "x  y", "c d"}));
  CHECK(expand("$sp", env) == "x  y");
  CHECK(expand_words("\"\" x", env) == std::vector<std::string>{"x"});
  CHECK(substitutes("ENV") && substitutes("COPY") && substitutes("WORKDIR") && substitutes("FROM"));
  CHECK(!substitutes("RUN") && !substitutes("CMD") && !substitutes("ENTRYPOINT") && !substitutes("SHELL"));
}

// Checked with podman build (buildah 1.28.2, FROM scratch): ENV a=0, ENV a=1 b=$a c="x y"
// d=z\ w gives a=1 b=0 c=x y d=z w; ENV legacy value with  spaces keeps both blanks; LABEL
// "com.example.name"="A B" q='it''s' e=${nope:-${a}} gives A B, its and 1.
TEST("dockerfile: ENV a=1 b=$a sees the old a (BuildKit's rule)") {
  Scope s({}, {}, '\\');
  s.set_env("a", "0");
  s.apply_env(parse("FROM scratch\nENV a=1 b=$a c=${a}x\n", "Dockerfile").instructions[1].pairs);
  CHECK(s.env().at("a") == "1" && s.env().at("b") == "0" && s.env().at("c") == "0x");
  s.apply_env(parse("FROM scratch\nENV d=$a\n", "Dockerfile").instructions[1].pairs);
  CHECK(s.env().at("d") == "1");
}

TEST("dockerfile: ARG scope, --build-arg and the predefined proxy args") {
  Dockerfile df = parse("ARG VER=1.0\nARG BASE=img:$VER\nFROM $BASE AS One\n"
                        "ARG VER\nARG LOCAL=l-$VER\nARG UNSET\nFROM scratch\nARG LOCAL\n",
                        "Dockerfile");
  Stages st = stages(df, {{"VER", "2.0"}, {"HTTP_PROXY", "http://p"}, {"UNSET", "u"}}, "Dockerfile");
  CHECK(st.global_args.at("VER") == "2.0" && st.global_args.at("BASE") == "img:2.0");
  CHECK(st.stages.size() == 2 && st.stages[0].base == "img:2.0" && st.stages[0].name == "one");
  // Inside a stage the global ARG is unseen until a bare ARG re-declares it.
  Scope s(st.global_args, {{"UNSET", "u"}, {"HTTP_PROXY", "http://p"}}, df.escape);
  CHECK(expand("[$VER]", s.lookup()) == "[]");
  for (size_t i = st.stages[0].first; i < st.stages[0].end; ++i)
    for (const auto &p : df.instructions[i].pairs)
      s.declare(p);
  CHECK(s.args().at("VER") == "2.0" && s.args().at("LOCAL") == "l-2.0" && s.args().at("UNSET") == "u");
  // ENV wins over ARG.
  s.set_env("VER", "env");
  CHECK(expand("$VER", s.lookup()) == "env");
  // The proxy args reach RUN without an ARG line, not substitution.
  CHECK(s.run_args().at("HTTP_PROXY") == "http://p" && !s.lookup().count("HTTP_PROXY"));
  // A new stage starts with no ARG; a stage-local one does not cross over.
  Scope s2(st.global_args, {}, df.escape);
  s2.declare(df.instructions[st.stages[1].first].pairs[0]);
  CHECK(!s2.args().count("LOCAL"));
  // An ARG with no value and no --build-arg stays unset.
  Scope s3({}, {}, '\\');
  s3.declare({"X", "", false});
  CHECK(!s3.lookup().count("X") && expand("${X-unset}", s3.lookup()) == "unset");
  // A global ARG with a default and no --build-arg.
  Stages d = stages(df, {}, "Dockerfile");
  CHECK(d.stages[0].base == "img:1.0");
}

TEST("dockerfile: stages, --target and the stages a target needs") {
  Dockerfile df = parse("FROM scratch AS base\n"
                        "FROM base AS Build\nCOPY a b\n"
                        "FROM scratch AS unused\n"
                        "FROM scratch AS test\nCOPY --from=build /x /y\n"
                        "FROM base\nCOPY --from=BUILD /x /y\nCOPY --from=0 /x /z\nCOPY --from=busybox /bin /bin\n",
                        "Dockerfile");
  Stages st = stages(df, {}, "Dockerfile");
  CHECK(st.stages.size() == 5);
  CHECK(st.stages[1].name == "build" && st.stages[1].base_stage == 0 && st.stages[1].first == 2 && st.stages[1].end == 3);
  CHECK(st.stages[4].name.empty() && st.stages[4].base_stage == 0);
  CHECK(st.stages[4].copies_from == (std::vector<int>{1, 0})); // busybox is an image
  CHECK(st.target("") == 4 && st.target("TEST") == 3);
  CHECK(st.needed(4) == (std::vector<int>{0, 1, 4})); // "unused" and "test" are skipped
  CHECK(st.needed(3) == (std::vector<int>{0, 1, 3}));
  try {
    st.target("nope");
    CHECK(false);
  } catch (const Error &e) {
    CHECK(has(e.what(), "target stage \"nope\" could not be found"));
  }
  // A cycle through COPY --from.
  Dockerfile cyc = parse("FROM scratch AS a\nCOPY --from=b x y\nFROM scratch AS b\nCOPY --from=a x y\n",
                         "Dockerfile");
  Stages cs = stages(cyc, {}, "Dockerfile");
  try {
    cs.needed(1);
    CHECK(false);
  } catch (const Error &e) {
    CHECK(has(e.what(), "circular dependency detected on stage: "));
  }
  // FROM a name of a later stage is an image, as docker resolves it.
  Stages later = stages(parse("FROM b AS a\nFROM scratch AS b\n", "Dockerfile"), {}, "Dockerfile");
  CHECK(later.stages[0].base_stage == -1 && later.needed(0) == std::vector<int>{0});
  auto stage_error = [](const std::string &text) -> std::string {
    try {
      stages(parse(text, "Dockerfile"), {}, "Dockerfile");
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  CHECK(has(stage_error("FROM scratch AS 1a\n"), "Dockerfile:1: invalid name for build stage: \"1a\""));
  CHECK(has(stage_error("FROM scratch AS a\nFROM scratch AS A\n"), "Dockerfile:2: duplicate name for build stage"));
  CHECK(has(stage_error("FROM scratch\nCOPY --from=3 a b\n"), "Dockerfile:2: invalid stage index 3"));
  CHECK(has(stage_error("ARG X\nRUN x\nFROM scratch\n"), "Dockerfile:2: RUN before the first FROM"));
  CHECK(has(stage_error("ARG X\n"), "no FROM instruction"));
  CHECK(has(stage_error("ARG B\nFROM $B\n"), "Dockerfile:2: FROM names no image"));
  CHECK(has(stage_error("FROM ${B\n"), "Dockerfile:1: bad substitution"));
}
