// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "image/image.hpp"
#include "base/sys.hpp"
#include "store/store.hpp"

using namespace koker;

static const std::string D1 = "sha256:" + std::string(64, 'a');
static const std::string D2 = "sha256:" + std::string(64, 'b');
static const std::string D3 = "sha256:" + std::string(64, 'c');

template <class F> static bool throws(F f) {
  try {
    f();
  } catch (const Error &) {
    return true;
  }
  return false;
}

static std::string oci_manifest(const std::string &extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         D1 + R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         D2 + R"(","size":20}])" + extra + "}";
}

TEST("image: parses an OCI manifest") {
  auto m = image::parse_manifest(oci_manifest(), image::media::oci_manifest);
  CHECK(m.config.digest == D1);
  CHECK(m.config.size == 10);
  CHECK(m.layers.size() == 1);
  CHECK(m.layers[0].digest == D2);
}

TEST("image: refuses confused, mistyped and malformed manifests") {
  // CVE-2021-41190: both layers and manifests
  CHECK(throws([] {
    image::parse_manifest(oci_manifest(R"(,"manifests":[])"), image::media::oci_manifest);
  }));
  // mediaType differs from the Content-Type
  CHECK(throws([] { image::parse_manifest(oci_manifest(), image::media::docker_manifest); }));
  CHECK(throws([] { image::parse_manifest(oci_manifest(), "application/json"); }));
  CHECK(throws([] { image::parse_manifest("{", image::media::oci_manifest); }));
  CHECK(throws([] {
    image::parse_manifest(R"({"schemaVersion":1,"layers":[]})", image::media::oci_manifest);
  }));
  std::string bad_digest = oci_manifest();
  bad_digest.replace(bad_digest.find(D2), D2.size(), "sha256:../../etc/passwd");
  CHECK(throws([&] { image::parse_manifest(bad_digest, image::media::oci_manifest); }));
  std::string neg = oci_manifest();
  neg.replace(neg.find("\"size\":20"), 9, "\"size\":-1");
  CHECK(throws([&] { image::parse_manifest(neg, image::media::oci_manifest); }));
  std::string foreign = oci_manifest();
  foreign.replace(foreign.find("application/vnd.oci.image.layer.v1.tar+gzip"),
                  std::string("application/vnd.oci.image.layer.v1.tar+gzip").size(),
                  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
  CHECK(throws([&] { image::parse_manifest(foreign, image::media::oci_manifest); }));
}

TEST("image: index selection picks linux and the host architecture, not the first entry") {
  std::string idx =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D1 +
      R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},)"
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D2 +
      R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}},)"
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D3 +
      R"(","size":1,"platform":{"os":"windows","architecture":"amd64"}}]})";
  auto entries = image::parse_index(idx, image::media::oci_index);
  CHECK(entries.size() == 3);
  CHECK(image::select_platform(entries, image::Platform::parse("linux/amd64")).digest == D2);
  CHECK(image::select_platform(entries, image::Platform::parse("linux/arm64")).digest == D1);
  CHECK(image::select_platform(entries, image::Platform::parse("linux/arm64/v8")).digest == D1);
  CHECK(image::select_platform(entries, image::Platform::parse("windows/amd64")).digest == D3);
  CHECK(throws([&] { image::select_platform(entries, image::Platform::parse("linux/s390x")); }));
  CHECK(throws([&] { image::parse_index(idx, image::media::docker_list); }));
  CHECK(throws([] {
    image::parse_index(R"({"schemaVersion":2,"manifests":[],"layers":[]})",
                       image::media::oci_index);
  }));
  CHECK(throws([] { image::Platform::parse("linux/amd64/v1/x"); }));
  CHECK(throws([] { image::Platform::parse("Linux/AMD64"); }));
  CHECK(!image::Platform::host().arch.empty());
}

TEST("image: config diff_ids are required and checked") {
  auto c = image::parse_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + D1 + R"("]},"config":{"Env":["A=b"]}})");
  CHECK(c.diff_ids.size() == 1);
  CHECK(c.arch == "amd64");
  CHECK(throws([] { image::parse_config(R"({"rootfs":{"type":"layers","diff_ids":["sha256:x"]}})"); }));
  CHECK(throws([] { image::parse_config(R"({"rootfs":{"type":"other","diff_ids":[]}})"); }));
  CHECK(throws([] { image::parse_config(R"({"rootfs":{"type":"layers","diff_ids":[]},"config":3})"); }));
}

TEST("humanize: sizes and durations in docker's words") {
  CHECK(human_size(0) == "0B");
  CHECK(human_size(999) == "999B");
  CHECK(human_size(1500) == "1.5kB");
  CHECK(human_size(4300000) == "4.3MB");
  CHECK(human_duration(0) == "Less than a second");
  CHECK(human_duration(3) == "3 seconds");
  CHECK(human_duration(61) == "About a minute");
  CHECK(human_duration(300) == "5 minutes");
  CHECK(human_duration(3700) == "About an hour");
  CHECK(human_duration(3 * 86400) == "3 days");
  CHECK(parse_rfc3339("1970-01-01T00:01:00Z") == 60);
  CHECK(parse_rfc3339("1970-01-01T01:00:00.5+01:00") == 0);
  CHECK(!parse_rfc3339("yesterday"));
}

TEST("store: tags move between images, rmi untags before it deletes, prefixes resolve") {
  std::string root = "/tmp/koker-unit-" + sys::random_hex(6);
  {
    store::Store s(root);
    store::ImageRecord a;
    a.id = D1;
    a.repo_tags = {"one:latest", "one:v1"};
    s.add_image(a);
    store::ImageRecord b;
    b.id = D2;
    b.repo_tags = {"one:latest"};
    s.add_image(b);
    CHECK(s.find_image("one:latest")->id == D2);
    CHECK(s.find_image("one:v1")->id == D1);
    CHECK(s.find_image(std::string(12, 'a'))->id == D1);
    CHECK(s.find_image("sha256:" + std::string(20, 'b'))->id == D2);
    CHECK(!s.find_image(std::string(11, 'a')));
    CHECK(!s.find_image("nope:latest"));
    CHECK(s.find_image("whatever", "one:v1")->id == D1);
    auto r = s.remove_image("one:v1", "one:v1", false);
    CHECK(r.deleted.size() == 1 && r.deleted[0] == D1); // its last tag: the image goes
    CHECK(s.images().size() == 1);
    CHECK(throws([&] { s.remove_image("nope", "", false); }));
  }
  sys::rm_rf(root);
  CHECK(!sys::exists(root));
}
