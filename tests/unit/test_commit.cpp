// SPDX-License-Identifier: MIT
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/sys.hpp"
#include "check.hpp"
#include "image/archive.hpp"
#include "build/config_step.hpp"
#include "image/commit.hpp"
#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cstdlib>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace koker;

namespace {

// --change as koker-commit applies it (build/config_step): the config after the changes.
json::Value changed(std::initializer_list<const char *> changes, json::Value cfg = json::Value::object()) {
  json::Value doc = json::Value::object();
  doc.set("config", std::move(cfg));
  build_config::StageVars vars{dockerfile::Scope({}, {}, '\\'), false};
  build_config::seed_env(vars, doc);
  for (const char *c : changes)
    build_config::apply_change(doc, c, vars);
  return *doc.find("config");
}

bool throws(std::initializer_list<const char *> changes) {
  try {
    changed(changes);
  } catch (const Error &) {
    return true;
  }
  return false;
}

struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/koker-unit-commit-XXXXXX";
    if (!::mkdtemp(t))
      sys_fail("mkdtemp");
    path = t;
  }
  ~Dir() { sys::rm_rf(path); }
  std::string operator/(std::string_view rel) const { return cat(path, "/", rel); }
};

// name, mode and mtime of each entry of a tar
std::vector<std::string> listing(const std::string &tar) {
  std::vector<std::string> out;
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK)
    out.push_back(cat(archive_entry_pathname(e), " ",
                      std::to_string(archive_entry_mode(e) & 0170777), " ", archive_entry_mtime(e),
                      " ", archive_entry_xattr_count(e)));
  archive_read_free(a);
  return out;
}

} // namespace

TEST("commit: CMD and ENTRYPOINT take the JSON or the shell form; ENTRYPOINT alone clears Cmd") {
  auto cfg = changed({"CMD [\"a\", \"b c\"]"});
  CHECK(cfg.find("Cmd")->dump() == R"(["a","b c"])");
  cfg = changed({"cmd echo $HOME"});
  CHECK(cfg.find("Cmd")->dump() == R"(["/bin/sh","-c","echo $HOME"])");
  cfg = changed({"CMD x", "ENTRYPOINT [\"e\"]"});
  CHECK(cfg.find("Cmd")->dump() == R"(["/bin/sh","-c","x"])");
  cfg = changed({"ENTRYPOINT [\"e\"]", "CMD [\"x\"]"});
  CHECK(cfg.find("Cmd")->dump() == R"(["x"])");
  json::Value base = json::Value::object();
  base.set("Cmd", json::string_array({"old"}));
  CHECK(changed({"ENTRYPOINT [\"e\"]"}, base).find("Cmd")->is_null());
}

TEST("commit: ENV, LABEL, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL, ONBUILD") {
  auto cfg = changed({"ENV A=1 B=\"two words\" C=x\\ y", "ENV D legacy value", "ENV A=3",
                      "LABEL k=v 'q r'=s", "EXPOSE 80 53/UDP", "VOLUME /a /b", "VOLUME [\"/c\"]",
                      "WORKDIR /w", "WORKDIR x/../y", "USER 10:20", "STOPSIGNAL SIGINT",
                      "ONBUILD RUN make"});
  CHECK(cfg.find("Env")->dump() == R"(["A=3","B=two words","C=x y","D=legacy value"])");
  CHECK(cfg.find("Labels")->dump() == R"({"k":"v","q r":"s"})");
  CHECK(cfg.find("ExposedPorts")->dump() == R"({"80/tcp":{},"53/udp":{}})");
  CHECK(cfg.find("Volumes")->dump() == R"({"/a":{},"/b":{},"/c":{}})");
  CHECK(cfg.get_string("WorkingDir") == "/w/y");
  CHECK(cfg.get_string("User") == "10:20");
  CHECK(cfg.get_string("StopSignal") == "SIGINT");
  CHECK(cfg.find("OnBuild")->dump() == R"(["RUN make"])");
}

TEST("commit: RUN, unknown instructions and bad arguments are refused") {
  CHECK(throws({"RUN echo"}));
  CHECK(throws({"FROM alpine"}));
  CHECK(throws({"COPY a b"}));
  CHECK(throws({""}));
  CHECK(throws({"EXPOSE 0"}));
  CHECK(throws({"EXPOSE 80/icmp"}));
  CHECK(throws({"LABEL novalue"}));
  CHECK(throws({"ENV"}));
  CHECK(throws({"ENV A=\"unterminated"}));
  CHECK(throws({"USER"}));
  CHECK(throws({"ONBUILD ONBUILD RUN x"}));
  CHECK(!throws({"CMD"}));
}

TEST("commit: make_config keeps the platform and history, appends the layer and the entry") {
  json::Value base = json::parse(
      R"({"architecture":"amd64","os":"linux","container":"abc","container_config":{},
          "config":{"Env":["OLD=1"],"Labels":{"a":"1"},"ExposedPorts":{"22/tcp":{}}},
          "rootfs":{"type":"layers","diff_ids":["sha256:aa"]},
          "history":[{"created":"2020-01-01T00:00:00Z","created_by":"base"}]})",
      "test");
  commit::Settings s;
  s.cmd = {"sh"};
  s.env = {"PATH=/bin"};
  s.labels = {{"b", "2"}};
  s.exposed_ports = {"80/tcp"};
  commit::History h{"2023-11-14T22:13:20Z", "sh", "me", "msg", false};
  auto env_x = [](json::Value &d) { d.find("config")->set("Env", json::string_array({"PATH=/bin", "X=1"})); };
  std::string text = commit::make_config(base, s, env_x, "sha256:bb", h);
  json::Value doc = json::parse(text, "config");
  CHECK(doc.find("container") == nullptr && doc.find("container_config") == nullptr);
  CHECK(doc.get_string("architecture") == "amd64" && doc.get_string("author") == "me");
  CHECK(doc.find("rootfs")->find("diff_ids")->dump() == R"(["sha256:aa","sha256:bb"])");
  const json::Value &cfg = *doc.find("config");
  CHECK(cfg.find("Env")->dump() == R"(["PATH=/bin","X=1"])");
  CHECK(cfg.find("Labels")->dump() == R"({"a":"1","b":"2"})");
  CHECK(cfg.find("ExposedPorts")->dump() == R"({"22/tcp":{},"80/tcp":{}})");
  CHECK(doc.find("history")->items().size() == 2);
  CHECK(doc.find("history")->items()[1].dump() ==
        R"({"created":"2023-11-14T22:13:20Z","created_by":"sh","author":"me","comment":"msg"})");
  // the same input gives the same bytes; an empty layer adds no diff_id
  CHECK(commit::make_config(base, s, env_x, "sha256:bb", h) == text);
  h.empty_layer = true;
  doc = json::parse(commit::make_config(base, s, nullptr, "sha256:bb", h), "config");
  CHECK(doc.find("rootfs")->find("diff_ids")->dump() == R"(["sha256:aa"])");
  CHECK(doc.find("history")->items()[1].find("empty_layer")->as_bool());
}

TEST(
    "commit: pack_upper writes whiteouts and opaque markers, skips, clamps, drops overlay xattrs") {
  if (::geteuid() != 0)
    return; // whiteouts are device nodes and trusted.* xattrs need root
  Dir up;
  sys::mkdir_p(up / "d");
  sys::mkdir_p(up / "opq");
  sys::mkdir_p(up / "dev");
  sys::write_file_atomic(up / "d/f", "x");
  sys::write_file_atomic(up / "opq/n", "y");
  CHECK(::mknod((up / "d/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  CHECK(::setxattr((up / "opq").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  CHECK(::setxattr((up / "d").c_str(), "trusted.overlay.origin", "zz", 2, 0) == 0);
  archive::UpperOptions o;
  o.skip = {"dev"};
  o.clamp_mtime = 1000;
  Fd out(::memfd_create("upper", MFD_CLOEXEC));
  auto info = archive::pack_upper(up.path, out.get(), o);
  std::string tar = sys::read_file(cat("/proc/self/fd/", out.get()), 1 << 20);
  CHECK(info.diff_id == digest::sha256(tar));
  // in the order of the names on disk (docker's walk): "f" before the whiteout of "gone"
  std::vector<std::string> want = {"d/ 16877 1000 0",
                                   "d/f 33188 1000 0",
                                   "d/.wh.gone 33152 1000 0",
                                   "opq/ 16877 1000 0",
                                   "opq/.wh..wh..opq 33261 1000 0",
                                   "opq/n 33188 1000 0"};
  CHECK(listing(tar) == want);
  for (const auto &l : listing(tar))
    if (std::find(want.begin(), want.end(), l) == want.end())
      std::fprintf(stderr, "unexpected entry: %s\n", l.c_str());
  Fd again(::memfd_create("upper", MFD_CLOEXEC));
  CHECK(archive::pack_upper(up.path, again.get(), o).diff_id == info.diff_id);
  // and it unpacks as overlayfs wants it
  Dir dst;
  ::lseek(out.get(), 0, SEEK_SET);
  CHECK(archive::extract_layer(out.get(), dst.path, archive::Limits{}).diff_id == info.diff_id);
  struct stat st;
  CHECK(::lstat((dst / "d/gone").c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0);
  char v = 0;
  CHECK(::getxattr((dst / "opq").c_str(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y');
}
