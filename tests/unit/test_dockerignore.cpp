// SPDX-License-Identifier: MIT
// .dockerignore against moby's patternmatcher rules and the traps users hit.
#include "check.hpp"
#include "base/error.hpp"
#include "build/dockerignore.hpp"

using namespace koker;
using namespace koker::dockerignore;

namespace {
Matcher matcher(const std::string &text, std::vector<std::string> always = {".dockerignore"}) {
  return Matcher(read_patterns(text), std::move(always));
}
} // namespace

TEST("dockerignore: clean as Go's filepath.Clean") {
  CHECK(clean("") == "." && clean(".") == "." && clean("./") == ".");
  CHECK(clean("a//b/./c/..") == "a/b" && clean("/a/../../b") == "/b" && clean("../a/") == "../a");
  CHECK(clean("a/../..") == ".." && clean("/") == "/");
}

TEST("dockerignore: reading the file") {
  auto p = read_patterns("# comment\n\n  *.log  \n/abs/x\n!  keep.log\n ./a//b/../c\r\n  # not a comment\n");
  CHECK(p == (std::vector<std::string>{"*.log", "abs/x", "!keep.log", "a/c", "# not a comment"}));
  try {
    Matcher(read_patterns("!\n"));
    CHECK(false);
  } catch (const Error &e) {
    CHECK(std::string(e.what()).find("illegal exclusion pattern") != std::string::npos);
  }
  try {
    Matcher(read_patterns("a[b\n"));
    CHECK(false);
  } catch (const Error &e) {
    CHECK(std::string(e.what()).find("bad pattern \"a[b\"") != std::string::npos);
  }
}

TEST("dockerignore: *.log only at the root, **/*.log anywhere (moby#27144)") {
  Matcher root = matcher("*.log\n");
  CHECK(root.excluded("x.log") && !root.excluded("src/x.log") && !root.excluded("a/b/x.log"));
  Matcher any = matcher("**/*.log\n");
  CHECK(any.excluded("x.log") && any.excluded("src/x.log") && any.excluded("a/b/x.log"));
  CHECK(!any.excluded("x.log.txt"));
}

TEST("dockerignore: a pattern matches a path or a parent directory") {
  Matcher m = matcher("node_modules\nbuild/\n/tmp\n");
  CHECK(m.excluded("node_modules") && m.excluded("node_modules/a/b.js"));
  CHECK(!m.excluded("src/node_modules")); // relative to the root only
  CHECK(m.excluded("build") && m.excluded("build/out.o") && m.excluded("tmp/x"));
  CHECK(!m.excluded("buildx") && !m.excluded("Dockerfile"));
}

TEST("dockerignore: ** in the middle, at the end and alone") {
  Matcher mid = matcher("a/**/z\n");
  CHECK(mid.excluded("a/z") && mid.excluded("a/b/z") && mid.excluded("a/b/c/z") && mid.excluded("a/b/z/inner"));
  CHECK(!mid.excluded("b/a/z") && !mid.excluded("a/zz"));
  Matcher end = matcher("docs/**\n");
  CHECK(end.excluded("docs/a") && end.excluded("docs/a/b") && !end.excluded("docsx"));
  Matcher all = matcher("**\n!keep\n");
  CHECK(all.excluded("a") && all.excluded("a/b") && !all.excluded("keep"));
}

TEST("dockerignore: *, ? and classes never cross /, as Go's filepath.Match") {
  Matcher m = matcher("a*c\nx?z\n[0-9]*.tmp\nn[^a-c]t\ne\\*sc\n");
  CHECK(m.excluded("abc") && m.excluded("ac") && !m.excluded("a/c"));
  CHECK(m.excluded("xyz") && !m.excluded("x/z") && !m.excluded("xz"));
  CHECK(m.excluded("1.tmp") && m.excluded("9abc.tmp") && !m.excluded("a1.tmp"));
  CHECK(m.excluded("nzt") && !m.excluded("nbt") && !m.excluded("n/t"));
  CHECK(m.excluded("e*sc") && !m.excluded("eXsc"));
  // Regular-expression characters are literal.
  Matcher lit = matcher("a.b\n(x)+\n");
  CHECK(lit.excluded("a.b") && !lit.excluded("aXb") && lit.excluded("(x)+") && !lit.excluded("xx"));
}

TEST("dockerignore: ! exceptions, the last match wins") {
  Matcher m = matcher("*.md\n!README.md\nREADME*.md\n");
  CHECK(m.excluded("a.md") && m.excluded("README.md")); // the last pattern excludes it again
  Matcher keep = matcher("*.md\n!README.md\n");
  CHECK(keep.excluded("a.md") && !keep.excluded("README.md"));
}

// Checked with podman build (buildah 1.28.2): "*.log", "vendor", "!vendor/keep/me.txt" sends
// src/x.log and vendor/keep/me.txt, not x.log nor vendor/keep/other nor vendor/other/z.
TEST("dockerignore: ! re-including a file inside an excluded directory") {
  Matcher m = matcher("vendor\n!vendor/keep/me.txt\n");
  CHECK(m.excluded("vendor") && m.excluded("vendor/other.txt") && m.excluded("vendor/keep/other"));
  CHECK(!m.excluded("vendor/keep/me.txt"));
  // The walk must go into vendor and vendor/keep to find it, not into vendor/other.
  CHECK(m.must_descend("vendor") && m.must_descend("vendor/keep") && !m.must_descend("vendor/other"));
  CHECK(!m.must_descend("vendor/keep/me.txt"));
  // BuildKit's walk (fsutil) goes into any directory an exception could match below. buildah
  // 1.28 (podman build, checked) and docker's classic builder only go in when the exception's
  // text starts with the directory: with "a" and "!**/*.go" they leave a/b/c.go out.
  // koker follows BuildKit.
  Matcher wild = matcher("*\n!**/*.go\n");
  CHECK(wild.must_descend("a") && wild.must_descend("a/b/c"));
  CHECK(wild.excluded("a/x.txt") && !wild.excluded("a/b/x.go"));
  Matcher none = matcher("vendor\n");
  CHECK(!none.has_exceptions() && !none.must_descend("vendor"));
}

TEST("dockerignore: the Dockerfile and .dockerignore are always sent") {
  Matcher m = matcher("*\n", {".dockerignore", "build/Dockerfile.dev"});
  CHECK(!m.excluded(".dockerignore") && !m.excluded("./build/Dockerfile.dev"));
  CHECK(m.excluded("build/other") && m.excluded("Dockerfile"));
}
