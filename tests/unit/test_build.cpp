// SPDX-License-Identifier: MIT
// koker-build's pure parts: config-only instructions, --chmod, Go durations, ADD's archive
// detection, and the context as COPY sees it (in a temporary directory).
#include "check.hpp"
#include "base/error.hpp"
#include "base/sys.hpp"
#include "build/config_step.hpp"
#include "build/context.hpp"
#include "build/copy_step.hpp"
#include "image/archive.hpp"
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace koker;

namespace {

json::Value doc_with(const std::string &config) {
  return json::parse(cat("{\"config\":", config, "}"), "test");
}

// Applies the instructions of text (one Dockerfile, FROM first) to doc; returns the words.
std::vector<std::string> apply_all(json::Value &doc, const std::string &text) {
  dockerfile::Dockerfile df = dockerfile::parse(text, "Dockerfile");
  build_config::StageVars vars{dockerfile::Scope({}, {{"V", "fromarg"}}, '\\'), false};
  std::vector<std::string> said;
  for (size_t i = 1; i < df.instructions.size(); ++i)
    said.push_back(build_config::apply(doc, df.instructions[i], vars, "Dockerfile"));
  return said;
}

void write(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

} // namespace

TEST("build: config-only instructions as docker applies them") {
  json::Value doc = doc_with(R"({"Env":["PATH=/bin"],"Cmd":["sh"]})");
  auto said = apply_all(doc, "FROM x\nARG V\nENV A=1 B=\"$A $V\"\nLABEL l=$B\nEXPOSE 80 53/udp\n"
                             "WORKDIR /a\nWORKDIR b\nUSER 1000:1000\nSTOPSIGNAL SIGUSR1\n"
                             "ENTRYPOINT [\"/e\"]\nVOLUME /v\nMAINTAINER me\n");
  const json::Value &c = *doc.find("config");
  CHECK(json::string_list(c.find("Env")) ==
        (std::vector<std::string>{"PATH=/bin", "A=1", "B= fromarg"})); // $A: the value before the ENV
  CHECK(c.find("Labels")->get_string("l") == " fromarg");
  CHECK(c.find("ExposedPorts")->find("80/tcp") && c.find("ExposedPorts")->find("53/udp"));
  CHECK(c.get_string("WorkingDir") == "/a/b" && c.get_string("User") == "1000:1000");
  CHECK(c.get_string("StopSignal") == "SIGUSR1");
  CHECK(c.find("Cmd")->is_null()); // an ENTRYPOINT resets the base image's CMD
  CHECK(c.find("Volumes")->find("/v") && doc.get_string("author") == "me");
  CHECK(said[1] == "ENV A=1 B= fromarg" && said[3] == "EXPOSE 80/tcp 53/udp");
}

TEST("build: a CMD set in the stage survives ENTRYPOINT; shell forms go through SHELL") {
  json::Value doc = doc_with("{}");
  apply_all(doc, "FROM x\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\nENTRYPOINT [\"/e\"]\n");
  const json::Value &c = *doc.find("config");
  CHECK(json::string_list(c.find("Cmd")) == (std::vector<std::string>{"/bin/bash", "-c", "echo hi"}));
  CHECK(build_config::shell(doc) == (std::vector<std::string>{"/bin/bash", "-c"}));
}

TEST("build: HEALTHCHECK and ONBUILD are stored") {
  json::Value doc = doc_with("{}");
  apply_all(doc, "FROM x\nHEALTHCHECK --interval=1m30s --retries=2 CMD curl -f x\n"
                 "ONBUILD RUN echo hi\n");
  const json::Value &h = *doc.find("config")->find("Healthcheck");
  CHECK(json::string_list(h.find("Test")) == (std::vector<std::string>{"CMD-SHELL", "curl -f x"}));
  CHECK(h.find("Interval")->as_int() == 90'000'000'000 && h.find("Retries")->as_int() == 2);
  CHECK(json::string_list(doc.find("config")->find("OnBuild")) ==
        (std::vector<std::string>{"RUN echo hi"}));
  try {
    apply_all(doc, "FROM x\nHEALTHCHECK --interval=soon CMD true\n");
    CHECK(false);
  } catch (const Error &e) {
    CHECK(std::string(e.what()).find("Dockerfile:2: HEALTHCHECK: invalid --interval") == 0);
  }
}

TEST("build: Go durations and --chmod") {
  CHECK(build_config::parse_duration("30s") == 30'000'000'000);
  CHECK(build_config::parse_duration("1h2m3.5s") == 3'723'500'000'000);
  CHECK(build_config::parse_duration("500ms") == 500'000'000 && build_config::parse_duration("0") == 0);
  CHECK(!build_config::parse_duration("5") && !build_config::parse_duration("s") &&
        !build_config::parse_duration("3d"));
  CHECK(build_copy::parse_chmod("755") == mode_t(0755) && build_copy::parse_chmod("0644") == mode_t(0644));
  CHECK(!build_copy::parse_chmod("u+x") && !build_copy::parse_chmod("") && !build_copy::parse_chmod("888"));
}

TEST("build: ADD tells an archive by its content") {
  std::string tar(512, '\0');
  tar.replace(257, 5, "ustar");
  CHECK(archive::looks_like_archive(tar));
  CHECK(archive::looks_like_archive("\x1f\x8b\x08") && archive::looks_like_archive("BZh91AY"));
  CHECK(archive::looks_like_archive(std::string("\xfd" "7zXZ\0\0", 7)));
  CHECK(archive::looks_like_archive("\x28\xb5\x2f\xfd\x00"));
  CHECK(!archive::looks_like_archive("#!/bin/sh\necho hi\n") && !archive::looks_like_archive(""));
}

TEST("build: the context as COPY sees it (.dockerignore, globs, symlinks, checksums)") {
  char tmpl[] = "/tmp/koker-unit-ctx-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  sys::mkdir_p(dir + "/src/deep");
  write(dir + "/a.txt", "a");
  write(dir + "/top.log", "log");
  write(dir + "/src/x.log", "x");
  write(dir + "/src/deep/y.go", "y");
  write(dir + "/.dockerignore", "*.log\n");
  CHECK(::symlink("src/deep", (dir + "/link").c_str()) == 0);
  CHECK(::symlink("/etc", (dir + "/abs").c_str()) == 0);
  build_context::Context ctx(dir);
  CHECK(ctx.excluded("top.log") && !ctx.excluded("src/x.log")); // *.log: the root only
  CHECK(ctx.sources("*.txt") == (std::vector<std::string>{"a.txt"}));
  CHECK(ctx.sources("src/*") == (std::vector<std::string>{"src/deep", "src/x.log"}));
  CHECK(ctx.sources("./link/y.go") == (std::vector<std::string>{"src/deep/y.go"}));
  CHECK(ctx.sources(".") == (std::vector<std::string>{""}));
  // An absolute link resolves inside the context: /etc is not there.
  bool refused = false;
  try {
    ctx.sources("abs/passwd");
  } catch (const Error &e) {
    refused = std::string(e.what()).find("file not found in build context") == 0;
  }
  CHECK(refused);
  for (const char *bad : {"top.log", "../x", "nothing*"}) {
    bool failed = false;
    try {
      ctx.sources(bad);
    } catch (const Error &) {
      failed = true;
    }
    CHECK(failed);
  }
  std::string before = ctx.checksum("src");
  CHECK(before.compare(0, 4, "dir:") == 0 && ctx.checksum("a.txt").compare(0, 5, "file:") == 0);
  struct timespec times[2] = {{0, 0}, {12345, 0}};
  ::utimensat(AT_FDCWD, (dir + "/src/x.log").c_str(), times, 0);
  CHECK(ctx.checksum("src") == before); // mtime is not content
  ::chmod((dir + "/src/x.log").c_str(), 0600);
  CHECK(ctx.checksum("src") != before); // a mode is
  sys::rm_rf(dir);
}
