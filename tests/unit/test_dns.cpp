// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "net/dns.hpp"
#include "store/container.hpp"
#include <string>

using namespace koker::net;

// A query as resolvers send it: ID 0x1234, RD set, one question NAME TYPE IN.
static std::string query(const std::string &name, uint16_t type) {
  std::string m = {'\x12', '\x34', '\x01', '\x00', 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos)
      dot = name.size();
    m += static_cast<char>(dot - start);
    m += name.substr(start, dot - start);
    start = dot + 1;
  }
  m += '\0';
  m += static_cast<char>(type >> 8);
  m += static_cast<char>(type & 0xff);
  m += std::string("\x00\x01", 2);
  return m;
}

TEST("dns: a query's question parses, lower-cased; anything else is refused") {
  std::string q = query("Web.App", dns::type_a);
  auto parsed = dns::parse_query(q);
  CHECK(parsed && parsed->name == "web.app" && parsed->type == dns::type_a &&
        parsed->klass == dns::class_in && parsed->end == q.size());
  CHECK(!dns::parse_query(q.substr(0, q.size() - 1))); // cut short
  CHECK(!dns::parse_query(q.substr(0, 11)));           // no header
  std::string reply = q;
  reply[2] = static_cast<char>(0x81); // a response, not a query
  CHECK(!dns::parse_query(reply));
  std::string pointer = q;
  pointer[12] = static_cast<char>(0xc0); // a compression pointer in the question
  CHECK(!dns::parse_query(pointer));
}

TEST("dns: answers carry the ID, RD, the question and one A record per address") {
  std::string q = query("db", dns::type_a);
  auto parsed = dns::parse_query(q);
  std::string a = dns::answer(q, *parsed, {0x0a000002, 0x0a000003}, 0);
  CHECK(a.substr(0, 2) == "\x12\x34");
  CHECK((static_cast<unsigned char>(a[2]) & 0x81) == 0x81); // QR and RD
  CHECK((static_cast<unsigned char>(a[3]) & 0x8f) == 0x80); // RA, NOERROR
  CHECK(a[7] == 2);                                         // ANCOUNT
  CHECK(a.size() == q.size() + 2 * 16);
  CHECK(a.substr(a.size() - 4) == std::string("\x0a\x00\x00\x03", 4));
  std::string none = dns::answer(q, *parsed, {}, 0);
  CHECK(none.size() == q.size() && none[7] == 0);
  std::string fail = dns::error_reply(q, &*parsed, dns::rcode_servfail);
  CHECK((fail[3] & 0x0f) == dns::rcode_servfail && fail.size() == q.size());
  CHECK(dns::error_reply("short", nullptr, dns::rcode_formerr).empty());
}

TEST("container: NetworkSettings.Networks round-trips; the default network shows as bridge") {
  koker::container::Record r;
  r.id = std::string(64, 'a');
  r.network_mode = "front";
  r.ip_address = "10.1.0.5";
  koker::container::Endpoint e;
  e.network = "front";
  e.network_id = std::string(64, 'b');
  e.requested_ip = "10.1.0.5";
  e.aliases = {"web", "www"};
  e.ip_address = "10.1.0.5";
  e.gateway = "10.1.0.1";
  e.mac = "02:42:0a:01:00:05";
  e.prefix = 24;
  r.networks = {e, koker::container::Endpoint{}};
  r.networks[1].network = "back";
  auto back = koker::container::Record::from_json(r.to_json(), "test");
  CHECK(back.networks.size() == 2 && back.networks[0].network == "front" &&
        back.networks[1].network == "back");
  CHECK(back.networks[0].aliases.size() == 2 && back.networks[0].requested_ip == "10.1.0.5");
  CHECK(back.networks[0].prefix == 24 && back.networks[0].mac == e.mac);
  CHECK(back.networks[1].requested_ip.empty() && back.networks[1].aliases.empty());
  koker::container::Record plain;
  plain.id = r.id;
  plain.ip_address = "10.69.0.2";
  auto j = plain.to_json();
  CHECK(j.find("NetworkSettings")->find("Networks")->find("bridge") != nullptr);
  CHECK(koker::container::Record::from_json(j, "test").networks.empty());
}
