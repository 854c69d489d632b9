// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "net/attach.hpp"
#include "net/net.hpp"
#include <unistd.h>

using namespace koker;

static bool throws(void (*fn)()) {
  try {
    fn();
  } catch (const Error &) {
    return true;
  }
  return false;
}

TEST("net: subnets are IPv4 CIDRs from /8 to /29 with no host bits") {
  auto s = net::parse_subnet("10.69.0.0/16");
  CHECK(s.str() == "10.69.0.0/16");
  CHECK(s.gateway() == *net::parse_ip("10.69.0.1"));
  CHECK(s.broadcast() == *net::parse_ip("10.69.255.255"));
  auto small = net::parse_subnet("10.199.3.0/29");
  CHECK(small.broadcast() - small.gateway() - 1 == 5); // five containers fit
  CHECK(throws([] { net::parse_subnet("10.69.0.1/16"); }));
  CHECK(throws([] { net::parse_subnet("10.69.0.0/30"); }));
  CHECK(throws([] { net::parse_subnet("10.69.0.0/7"); }));
  CHECK(throws([] { net::parse_subnet("10.69.0.0"); }));
  CHECK(throws([] { net::parse_subnet("10.69.0.256/24"); }));
  CHECK(!net::parse_ip("10.069.0.1"));
  CHECK(!net::parse_ip("1.2.3"));
  CHECK(!net::parse_ip("1.2.3.4.5"));
  CHECK(!net::parse_ip(""));
}

TEST("net: IPv6 subnets: /48 to /120, no host bits; addresses at an offset; overlaps") {
  auto s = net::parse_subnet6("fd44:4b4f:4b45:7::/64");
  CHECK(s.str() == "fd44:4b4f:4b45:7::/64");
  CHECK(net::ip6_string(s.gateway()) == "fd44:4b4f:4b45:7::1");
  CHECK(net::ip6_string(s.at(0x1234)) == "fd44:4b4f:4b45:7::1234");
  CHECK(net::ip6_string(s.at(0x10002)) == "fd44:4b4f:4b45:7::1:2");
  CHECK(net::overlaps6(s, net::parse_subnet6("fd44:4b4f:4b45::/48")));
  CHECK(!net::overlaps6(s, net::parse_subnet6("fd44:4b4f:4b45:8::/64")));
  CHECK(throws([] { net::parse_subnet6("fd44:4b4f:4b45:7::1/64"); }));
  CHECK(throws([] { net::parse_subnet6("fd44::/47"); }));
  CHECK(throws([] { net::parse_subnet6("fd44::/121"); }));
  CHECK(throws([] { net::parse_subnet6("10.0.0.0/24"); }));
  CHECK(!net::parse_ip6("fd44::g"));
  CHECK(net::contains6(s, *net::parse_ip6("fd44:4b4f:4b45:7::99")));
  CHECK(!net::contains6(s, *net::parse_ip6("fd44:4b4f:4b45:8::99")));
}

TEST("net: -p specs parse as docker's and print in docker's form") {
  CHECK(net::port_string(net::parse_port("8080:80")) == "0.0.0.0:8080->80/tcp");
  CHECK(net::port_string(net::parse_port("127.0.0.1:53:5353/udp")) == "127.0.0.1:53->5353/udp");
  CHECK(net::port_string(net::parse_port("0.0.0.0:8080->80/tcp")) == "0.0.0.0:8080->80/tcp");
  auto p = net::parse_port("1.2.3.4:1:65535/tcp");
  CHECK(p.host_ip == "1.2.3.4" && p.host_port == 1 && p.port == 65535 && p.proto == "tcp");
  CHECK(throws([] { net::parse_port("80"); }));
  CHECK(throws([] { net::parse_port("0:80"); }));
  CHECK(throws([] { net::parse_port("80:65536"); }));
  CHECK(throws([] { net::parse_port("8000-8001:80"); }));
  CHECK(net::port_string(net::parse_port("[::1]:8080:80")) == "[::1]:8080->80/tcp");
  CHECK(net::port_string(net::parse_port("[::1]:8080->80/tcp")) == "[::1]:8080->80/tcp");
  auto v6 = net::parse_port("[fd86:0:0::5]:53:5353/udp");
  CHECK(v6.v6() && !v6.any() && v6.host_ip == "fd86::5" && v6.host_port == 53 && v6.proto == "udp");
  CHECK(net::parse_port("[::]:80:80").any() && net::parse_port("8080:80").any());
  CHECK(throws([] { net::parse_port("::1:80:80"); }));
  CHECK(throws([] { net::parse_port("[::1]:80"); }));
  CHECK(throws([] { net::parse_port("[::1:80:80"); }));
  CHECK(throws([] { net::parse_port("[10.0.0.1]:80:80"); }));
  CHECK(throws([] { net::parse_port("[::1]:1.2.3.4:80:80"); }));
  CHECK(throws([] { net::parse_port("80:80/sctp"); }));
  CHECK(throws([] { net::parse_port("host:80:80"); }));
  CHECK(throws([] { net::parse_port("1:2:3:4"); }));
}

TEST("net: one host port and protocol given twice is refused, whatever the addresses") {
  auto ports = [](std::initializer_list<const char *> specs) {
    std::vector<net::Port> out;
    for (const char *s : specs)
      out.push_back(net::parse_port(s));
    return out;
  };
  static std::vector<net::Port> twice, spread_ips;
  twice = ports({"8080:80", "8081:80", "8080:81"});
  spread_ips = ports({"127.0.0.1:8080:80", "0.0.0.0:8080:80"});
  CHECK(throws([] { net::check_distinct_host_ports(twice); }));
  CHECK(throws([] { net::check_distinct_host_ports(spread_ips); }));
  net::check_distinct_host_ports(ports({"8080:80", "8080:80/udp", "8081:80"}));
  net::check_distinct_host_ports({});
  try {
    net::check_distinct_host_ports(twice);
  } catch (const Error &e) {
    CHECK(std::string(e.what()) ==
          "port 8080/tcp is published twice: 0.0.0.0:8080->80/tcp and 0.0.0.0:8080->81/tcp");
  }
}

TEST("net: a record framed for koker-net attach --ahead reads back whole; cut short it is none") {
  container::Record r;
  r.id = std::string(64, 'a');
  r.network_mode = "bridge";
  r.publish = {"127.0.0.1:8080:80/tcp"};
  r.env = {"LINE=one\ntwo"}; // a newline inside: the frame's size, not a line, ends it
  std::string framed = net::record_frame(r);
  auto through_pipe = [](const std::string &bytes) {
    int p[2];
    CHECK(::pipe(p) == 0);
    CHECK(::write(p[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(p[1]);
    Fd in(p[0]);
    return net::read_record(in.get(), "a test pipe");
  };
  auto back = through_pipe(framed + "/proc/1/fd/3\n");
  CHECK(back && back->id == r.id && back->publish == r.publish && back->env == r.env);
  CHECK(!through_pipe(""));                                      // koker-run gave up first
  CHECK(!through_pipe(framed.substr(0, framed.size() - 1)));     // cut short
  bool refused = false;
  try {
    through_pipe("12x\n{}");
  } catch (const Error &) {
    refused = true;
  }
  CHECK(refused);
}
