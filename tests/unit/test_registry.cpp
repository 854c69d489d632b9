// SPDX-License-Identifier: MIT
#include "image/http.hpp"
#include "check.hpp"
#include "base/error.hpp"
#include "image/registry.hpp"
#include "image/registry_auth.hpp"
#include <string>

using namespace koker;
using registry::parse_reference;
using registry::Reference;

static const std::string HEX = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const std::string DIGEST = "sha256:" + HEX;

static bool ref_fails(std::string_view text) {
  try {
    parse_reference(text);
  } catch (const Error &e) {
    return std::string(e.what()).rfind("invalid reference format: ", 0) == 0;
  }
  return false;
}

static bool ref_is(std::string_view text, std::string_view registry, std::string_view repository,
                   std::string_view tag, std::string_view digest = "") {
  Reference r = parse_reference(text);
  return r.registry == registry && r.repository == repository && r.tag == tag && r.digest == digest;
}

TEST("registry: short names are Docker Hub official images") {
  CHECK(ref_is("alpine", "docker.io", "library/alpine", "latest"));
  CHECK(ref_is("alpine:3.20", "docker.io", "library/alpine", "3.20"));
  CHECK(ref_is("docker://alpine", "docker.io", "library/alpine", "latest"));
  CHECK(ref_is("docker.io/alpine", "docker.io", "library/alpine", "latest"));
  CHECK(ref_is("index.docker.io/alpine", "docker.io", "library/alpine", "latest"));
  CHECK(ref_is("docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge"));
  CHECK(ref_is("user/img:1.0", "docker.io", "user/img", "1.0"));
  CHECK(ref_is("user/img/sub", "docker.io", "user/img/sub", "latest"));
  Reference r = parse_reference("alpine");
  CHECK(r.name() == "alpine");
  CHECK(r.tagged() == "alpine:latest");
  CHECK(r.canonical() == "docker.io/library/alpine:latest");
  CHECK(parse_reference("user/img:1.0").name() == "user/img");
  CHECK(parse_reference("user/img:1.0").tagged() == "user/img:1.0");
  CHECK(parse_reference("docker.io/library/a/b").name() == "library/a/b");
}

TEST("registry: other registries, ports, digests") {
  CHECK(ref_is("localhost:5000/a/b@" + DIGEST, "localhost:5000", "a/b", "", DIGEST));
  CHECK(ref_is("localhost/a", "localhost", "a", "latest"));
  CHECK(ref_is("127.0.0.1:5000/koker/one", "127.0.0.1:5000", "koker/one", "latest"));
  CHECK(ref_is("quay.io/x/y:t@" + DIGEST, "quay.io", "x/y", "t", DIGEST));
  CHECK(ref_is("[::1]:5000/img:v1", "[::1]:5000", "img", "v1"));
  CHECK(ref_is("Registry.Example.com/a", "Registry.Example.com", "a", "latest"));
  CHECK(ref_is("alpine@" + DIGEST, "docker.io", "library/alpine", "", DIGEST));
  CHECK(ref_is("a.b-c/f_g", "a.b-c", "f_g", "latest"));
  CHECK(ref_fails("a.b_c/f"));
  CHECK(ref_is("x/a.b-c__d---e", "docker.io", "x/a.b-c__d---e", "latest"));
  // A port without a path is a tag, as docker reads it.
  CHECK(ref_is("localhost:5000", "docker.io", "library/localhost", "5000"));

  Reference r = parse_reference("127.0.0.1:5000/koker/one");
  CHECK(r.name() == "127.0.0.1:5000/koker/one");
  CHECK(r.tagged() == "127.0.0.1:5000/koker/one:latest");
  Reference both = parse_reference("quay.io/x/y:t@" + DIGEST);
  CHECK(both.canonical() == "quay.io/x/y:t@" + DIGEST);
  Reference by_digest = parse_reference("alpine@" + DIGEST);
  CHECK(by_digest.tagged().empty());
  CHECK(by_digest.canonical() == "docker.io/library/alpine@" + DIGEST);
}

TEST("registry: tags at the edge of the grammar") {
  std::string t128(128, 'a'), t129(129, 'a');
  CHECK(ref_is("a:" + t128, "docker.io", "library/a", t128));
  CHECK(ref_fails("a:" + t129));
  CHECK(ref_is("a:_X.y-Z", "docker.io", "library/a", "_X.y-Z"));
  CHECK(ref_fails("a:.x"));
  CHECK(ref_fails("a:-x"));
  CHECK(ref_fails("a:"));
  CHECK(ref_fails("a:b:c"));
}

TEST("registry: malformed references are refused") {
  CHECK(ref_fails(""));
  CHECK(ref_fails("docker://"));
  CHECK(ref_fails(":tag"));
  CHECK(ref_fails("@" + DIGEST));
  CHECK(ref_fails("Alpine"));
  CHECK(ref_fails("user/Img"));
  CHECK(ref_fails("Foo/bar")); // not a host: no '.', ':' or localhost
  CHECK(ref_fails("a//b"));
  CHECK(ref_fails("a/"));
  CHECK(ref_fails("/a"));
  CHECK(ref_fails("a/../b"));
  CHECK(ref_fails("a..b"));
  CHECK(ref_fails("a___b"));
  CHECK(ref_fails("-a"));
  CHECK(ref_fails("a-"));
  CHECK(ref_fails("a b"));
  CHECK(ref_fails("a\nb"));
  CHECK(ref_fails(std::string("a\0b", 3)));
  CHECK(ref_fails("a\x7f"));
  CHECK(ref_fails("caf\xc3\xa9"));
  CHECK(ref_fails(HEX)); // reads as an image ID
  CHECK(ref_fails("-bad.host/a"));
  CHECK(ref_fails("host.:5000/a"));
  CHECK(ref_fails("host:/a"));
  CHECK(ref_fails("host:50a/a"));
  CHECK(ref_fails("[zz]:5000/a"));
  CHECK(ref_fails("localhost:5000/a?x"));
  CHECK(ref_fails(std::string(250, 'a') + "/" + std::string(10, 'b')));
}

TEST("registry: only lower-case sha256 digests are accepted") {
  CHECK(ref_fails("alpine@sha256:" + HEX.substr(1)));
  CHECK(ref_fails("alpine@sha256:" + HEX + "0"));
  CHECK(
      ref_fails("alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
  CHECK(ref_fails("alpine@sha512:" + HEX + HEX));
  CHECK(ref_fails("alpine@sha256:../../etc/passwd"));
  CHECK(ref_fails("alpine@"));
  CHECK(ref_fails("alpine@" + DIGEST + "@" + DIGEST));
  CHECK(ref_fails("alpine:tag@"));
}

TEST("registry: WWW-Authenticate challenges") {
  using registry::auth::parse_challenges;
  auto c = parse_challenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  CHECK(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "https://auth.docker.io/token");
  CHECK(c[0].param("service") == "registry.docker.io");
  CHECK(c[0].param("scope") == "repository:library/alpine:pull");
  CHECK(c[0].param("missing").empty());

  // Commas inside quotes, escapes, odd spacing, upper-case names, several challenges.
  c = parse_challenges(
      "BEARER  Realm = \"http://127.0.0.1:1/t?a=1,b=2\" , scope=\"repository:x:pull,push\","
      "error=invalid_token, Basic realm=\"say \\\"hi\\\"\"");
  CHECK(c.size() == 2);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "http://127.0.0.1:1/t?a=1,b=2");
  CHECK(c[0].param("scope") == "repository:x:pull,push");
  CHECK(c[0].param("error") == "invalid_token");
  CHECK(c[1].scheme == "basic");
  CHECK(c[1].param("realm") == "say \"hi\"");

  c = parse_challenges(R"(Basic realm="Registry Realm")");
  CHECK(c.size() == 1 && c[0].scheme == "basic" && c[0].param("realm") == "Registry Realm");

  // Garbage never throws and never invents a realm.
  CHECK(parse_challenges("").empty());
  CHECK(parse_challenges("   ,, ").empty());
  c = parse_challenges("Bearer realm=\"unterminated");
  CHECK(c.size() == 1 && c[0].param("realm") == "unterminated");
  c = parse_challenges("Negotiate abc== ;;");
  CHECK(c.size() == 1 && c[0].scheme == "negotiate");
}

TEST("registry: base64 and URL encoding") {
  using namespace registry::auth;
  CHECK(encode_base64("") == "");
  CHECK(encode_base64("koker:s3cret") == "a29rZXI6czNjcmV0");
  CHECK(encode_base64("ab") == "YWI=");
  CHECK(decode_base64("a29rZXI6czNjcmV0") == std::optional<std::string>("koker:s3cret"));
  CHECK(decode_base64("YWI=") == std::optional<std::string>("ab"));
  CHECK(decode_base64("YWI") == std::optional<std::string>("ab"));
  CHECK(decode_base64("YQ==") == std::optional<std::string>("a"));
  CHECK(decode_base64("") == std::optional<std::string>(""));
  CHECK(!decode_base64("YW=I"));
  CHECK(!decode_base64("Y==="));
  CHECK(!decode_base64("YW I="));
  CHECK(!decode_base64("YW*I"));
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  CHECK(decode_base64(encode_base64(all)) == std::optional<std::string>(all));
}

TEST("http: query parameters are percent-encoded through libcurl's URL API") {
  CHECK(http::add_query("https://auth.example/token", {{"scope", "repository:library/alpine:pull"}}) ==
        "https://auth.example/token?scope=repository%3alibrary%2falpine%3apull");
  CHECK(http::add_query("http://h/t?x=1", {{"service", "a b&c=d"}, {"scope", "e"}}) ==
        "http://h/t?x=1&service=a+b%26c%3dd&scope=e");
  CHECK(http::authority_of("https://Index.Docker.io:443/v1/") == "index.docker.io:443");
  CHECK(http::authority_of("http://[::1]:5000/v2/") == "[::1]:5000");
  CHECK(http::host_of("https://registry-1.docker.io/v2/") == "registry-1.docker.io");
}

TEST("registry: credentials from config.json auths") {
  using registry::auth::find_credentials;
  std::string config = R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
      "127.0.0.1:5000": {"auth": "a29rZXI6czNjcmV0"},
      "https://quay.io/v2/": {"auth": "cTpwYTpzczp3b3Jk"},
      "bad.example": {"auth": "!!!"},
      "plain.example": {"username": "u", "password": "p"},
      "token.example": {"identitytoken": "xyz"}
    },
    "credsStore": "desktop"
  })";
  auto hub = find_credentials(config, "docker.io", "config.json");
  CHECK(hub && hub->user == "hub" && hub->password == "hubpass");
  auto local = find_credentials(config, "127.0.0.1:5000", "config.json");
  CHECK(local && local->user == "koker" && local->password == "s3cret");
  auto quay = find_credentials(config, "quay.io", "config.json");
  CHECK(quay && quay->user == "q" && quay->password == "pa:ss:word"); // split at the first ':'
  auto plain = find_credentials(config, "plain.example", "config.json");
  CHECK(plain && plain->user == "u" && plain->password == "p");
  CHECK(!find_credentials(config, "127.0.0.1:5001", "config.json"));
  CHECK(!find_credentials(config, "127.0.0.1", "config.json"));
  CHECK(!find_credentials(config, "bad.example", "config.json"));
  CHECK(!find_credentials(config, "token.example", "config.json"));
  CHECK(!find_credentials("{}", "docker.io", "config.json"));
  CHECK(!find_credentials(R"({"auths": {"docker.io": {"auth": "eDp5"}}})", "index.docker.io.evil",
                          "config.json"));
  auto other = find_credentials(R"({"auths": {"registry-1.docker.io": {"auth": "eDp5"}}})",
                                "docker.io", "config.json");
  CHECK(other && other->user == "x" && other->password == "y");
  bool threw = false;
  try {
    find_credentials("{not json", "docker.io", "config.json");
  } catch (const Error &) {
    threw = true;
  }
  CHECK(threw);
}
