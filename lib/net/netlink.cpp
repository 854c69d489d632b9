// SPDX-License-Identifier: MIT
#include "net/netlink.hpp"
#include "net/address.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <vector>

namespace koker::netlink {

namespace {

// Big enough for a dump of many links (libmnl's MNL_SOCKET_DUMP_SIZE).
constexpr size_t recv_size = 32768;
constexpr size_t send_size = 8192;

struct Request {
  alignas(nlmsghdr) char buf[send_size];
  nlmsghdr *nlh;
  Request(uint16_t type, uint16_t flags) {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  }
  template <class T> T *extra() {
    return static_cast<T *>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
  }
};

int parse_link_attr(const nlattr *attr, void *data) {
  auto **tb = static_cast<const nlattr **>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) > 0)
    tb[type] = attr;
  return MNL_CB_OK;
}

int parse_info_attr(const nlattr *attr, void *data) {
  auto **tb = static_cast<const nlattr **>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) > 0)
    tb[type] = attr;
  return MNL_CB_OK;
}

void collect_link(const nlmsghdr *nlh, void *data) {
  if (nlh->nlmsg_type != RTM_NEWLINK)
    return;
  auto *ifm = static_cast<const ifinfomsg *>(mnl_nlmsg_get_payload(nlh));
  const nlattr *tb[IFLA_MAX + 1] = {};
  mnl_attr_parse(nlh, sizeof *ifm, parse_link_attr, tb);
  Link l;
  l.index = ifm->ifi_index;
  if (tb[IFLA_IFNAME])
    l.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (tb[IFLA_IFALIAS])
    l.alias = mnl_attr_get_str(tb[IFLA_IFALIAS]);
  if (tb[IFLA_MASTER])
    l.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_LINKINFO]) {
    const nlattr *info[IFLA_INFO_MAX + 1] = {};
    mnl_attr_parse_nested(tb[IFLA_LINKINFO], parse_info_attr, info);
    if (info[IFLA_INFO_KIND])
      l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
  }
  static_cast<std::vector<Link> *>(data)->push_back(std::move(l));
}

struct Callback {
  void (*fn)(const nlmsghdr *, void *);
  void *data;
};

int on_data(const nlmsghdr *nlh, void *data) {
  auto *cb = static_cast<Callback *>(data);
  if (cb->fn)
    cb->fn(nlh, cb->data);
  return MNL_CB_OK;
}

void expect_ok(int rc, std::string_view what) {
  if (rc < 0) {
    errno = -rc;
    sys_fail("netlink: unable to ", what);
  }
}

} // namespace

namespace {

// Runs fn with this thread in the network namespace netns_fd (setns there and back), so that
// what it opens (sockets) belongs to that namespace.
void in_netns(int netns_fd, const std::function<void()> &fn) {
  Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home)
    sys_fail("unable to open /proc/self/ns/net");
  log::debug("setns(", netns_fd, ", CLONE_NEWNET)");
  check(::setns(netns_fd, CLONE_NEWNET), "unable to enter the container's network namespace");
  auto go_home = [&] {
    log::debug("setns(/proc/self/ns/net, CLONE_NEWNET): back in the host's namespace");
    if (::setns(home.get(), CLONE_NEWNET) < 0) {
      // Carrying on in the container's namespace would configure the wrong host: stop here.
      log::fatal("unable to return to the host's network namespace: ", std::strerror(errno));
      ::_exit(125);
    }
  };
  try {
    fn();
  } catch (...) {
    go_home();
    throw;
  }
  go_home();
}

} // namespace

Socket::Socket() { open(); }


Socket::Socket(int netns_fd) {
  in_netns(netns_fd, [this] { open(); });
}


void Socket::open() {
  m_nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!m_nl)
    sys_fail("unable to open a netlink socket");
  if (mnl_socket_bind(m_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(m_nl);
    m_nl = nullptr;
    errno = e;
    sys_fail("unable to bind a netlink socket");
  }
  m_portid = mnl_socket_get_portid(m_nl);
}

Socket::~Socket() {
  if (m_nl)
    mnl_socket_close(m_nl);
}

int Socket::request(nlmsghdr *msg, void (*on_reply)(const nlmsghdr *, void *), void *data) {
  // NLM_F_DUMP shares a bit with NLM_F_EXCL: only a GET request (RTM_GET*) can be a dump.
  bool dump =
      msg->nlmsg_type % 4 == RTM_GETLINK % 4 && (msg->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump)
    msg->nlmsg_flags |= NLM_F_ACK;
  msg->nlmsg_seq = ++m_seq;
  if (mnl_socket_sendto(m_nl, msg, msg->nlmsg_len) < 0)
    sys_fail("unable to send a netlink request");
  std::vector<char> buf(recv_size);
  Callback cb{on_reply, data};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(m_nl, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      sys_fail("unable to read a netlink reply");
    }
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), m_seq, m_portid, on_data, &cb);
    if (rc == MNL_CB_ERROR)
      return -errno;
    if (rc == MNL_CB_STOP)
      return 0;
  }
}

std::optional<Link> get_link(Socket &s, std::string_view name) {
  log::debug("netlink RTM_GETLINK ", name);
  Request r(RTM_GETLINK, 0);
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(name).c_str());
  std::vector<Link> links;
  int rc = s.request(r.nlh, collect_link, &links);
  if (rc == -ENODEV)
    return std::nullopt;
  expect_ok(rc, cat("read link ", name));
  if (links.empty())
    return std::nullopt;
  return links[0];
}

std::vector<Link> list_links(Socket &s) {
  log::debug("netlink RTM_GETLINK (dump)");
  Request r(RTM_GETLINK, NLM_F_DUMP);
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  std::vector<Link> links;
  expect_ok(s.request(r.nlh, collect_link, &links), "list links");
  return links;
}

bool add_bridge(Socket &s, std::string_view name) {
  // A MAC of its own, as docker gives its bridges: without one the bridge takes the lowest of
  // its ports', and changes it as veths come and go, while the containers' ARP caches keep
  // the old one for the gateway (their queries to the network's resolver then go astray).
  std::string hex = sys::random_hex(3);
  uint8_t mac[6] = {0x02, 0x42, 0, 0, 0, 0};
  for (size_t i = 0; i < 3; ++i)
    mac[3 + i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  mac[2] = 0xb0; // "koker bridge": apart from the 02:42:<IPv4> of containers' interfaces
  log::debug("netlink RTM_NEWLINK ", name, " type bridge address 02:42:b0:", hex.substr(0, 2), ":",
             hex.substr(2, 2), ":", hex.substr(4, 2));
  Request r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(name).c_str());
  mnl_attr_put(r.nlh, IFLA_ADDRESS, 6, mac);
  nlattr *info = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(r.nlh, info);
  int rc = s.request(r.nlh);
  if (rc == -EEXIST)
    return false;
  expect_ok(rc, cat("create bridge ", name));
  return true;
}

bool add_veth(Socket &s, std::string_view host, const Link &master, std::string_view peer,
              int peer_netns_fd, const uint8_t *mac) {
  log::debug("netlink RTM_NEWLINK ", host, " master ", master.name, " type veth peer ", peer,
             " netns fd ", peer_netns_fd);
  Request r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(host).c_str());
  mnl_attr_put_u32(r.nlh, IFLA_MASTER, static_cast<uint32_t>(master.index));
  nlattr *info = mnl_attr_nest_start(r.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(r.nlh, IFLA_INFO_KIND, "veth");
  nlattr *data = mnl_attr_nest_start(r.nlh, IFLA_INFO_DATA);
  nlattr *peer_info = mnl_attr_nest_start(r.nlh, VETH_INFO_PEER);
  // The peer's attributes follow an ifinfomsg of their own (veth_newlink). It cannot be
  // brought up here (ENOTCONN): that is done inside the namespace. Neither end is up yet.
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(peer).c_str());
  mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (mac)
    mnl_attr_put(r.nlh, IFLA_ADDRESS, 6, mac);
  mnl_attr_nest_end(r.nlh, peer_info);
  mnl_attr_nest_end(r.nlh, data);
  mnl_attr_nest_end(r.nlh, info);
  int rc = s.request(r.nlh);
  if (rc == -EEXIST)
    return false;
  expect_ok(rc, cat("create veth pair ", host, " and ", peer));
  return true;
}

bool delete_link(Socket &s, std::string_view name) {
  log::debug("netlink RTM_DELLINK ", name);
  Request r(RTM_DELLINK, 0);
  r.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(name).c_str());
  int rc = s.request(r.nlh);
  if (rc == -ENODEV)
    return false;
  expect_ok(rc, cat("delete link ", name));
  return true;
}

void set_addrgenmode_none(Socket &s, const Link &dev) {
  log::debug("netlink RTM_NEWLINK ", dev.name, " addrgenmode none");
  Request r(RTM_NEWLINK, 0);
  auto *ifm = r.extra<ifinfomsg>();
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = dev.index;
  nlattr *spec = mnl_attr_nest_start(r.nlh, IFLA_AF_SPEC);
  nlattr *inet6 = mnl_attr_nest_start(r.nlh, AF_INET6);
  mnl_attr_put_u8(r.nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  mnl_attr_nest_end(r.nlh, inet6);
  mnl_attr_nest_end(r.nlh, spec);
  int rc = s.request(r.nlh);
  if (rc == -EAFNOSUPPORT)
    return;
  expect_ok(rc, cat("set addrgenmode none on ", dev.name));
}

void set_up(Socket &s, std::string_view name) {
  log::debug("netlink RTM_NEWLINK ", name, " up");
  Request r(RTM_NEWLINK, 0);
  auto *ifm = r.extra<ifinfomsg>();
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, std::string(name).c_str());
  expect_ok(s.request(r.nlh), cat("bring ", name, " up"));
}

void set_alias(Socket &s, const Link &dev, std::string_view alias) {
  log::debug("netlink RTM_NEWLINK ", dev.name, " alias \"", alias, "\"");
  Request r(RTM_NEWLINK, 0);
  auto *ifm = r.extra<ifinfomsg>();
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = dev.index;
  mnl_attr_put(r.nlh, IFLA_IFALIAS, alias.size(), alias.data());
  expect_ok(s.request(r.nlh), "set the alias of a link");
}

void add_address(Socket &s, const Link &dev, uint32_t addr, unsigned prefix) {
  uint32_t mask = prefix ? ~uint32_t(0) << (32 - prefix) : 0;
  log::debug("netlink RTM_NEWADDR ", net::ip_string(addr), "/", prefix, " brd ", net::ip_string(addr | ~mask),
             " dev ", dev.name);
  Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto *ifa = r.extra<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(dev.index);
  mnl_attr_put_u32(r.nlh, IFA_LOCAL, htonl(addr));
  mnl_attr_put_u32(r.nlh, IFA_ADDRESS, htonl(addr));
  mnl_attr_put_u32(r.nlh, IFA_BROADCAST, htonl(addr | ~mask));
  int rc = s.request(r.nlh);
  if (rc != -EEXIST)
    expect_ok(rc, cat("add address ", net::ip_string(addr), "/", prefix));
}

void add_default_route(Socket &s, uint32_t gateway) {
  log::debug("netlink RTM_NEWROUTE default via ", net::ip_string(gateway));
  Request r(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto *rtm = r.extra<rtmsg>();
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(r.nlh, RTA_GATEWAY, htonl(gateway));
  expect_ok(s.request(r.nlh), cat("add the default route via ", net::ip_string(gateway)));
}

void add_address6(Socket &s, const Link &dev, const std::array<uint8_t, 16> &addr,
                  unsigned prefix) {
  log::debug("netlink RTM_NEWADDR ", net::ip6_string(addr), "/", prefix, " dev ", dev.name,
             " nodad");
  Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto *ifa = r.extra<ifaddrmsg>();
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_flags = IFA_F_NODAD;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(dev.index);
  mnl_attr_put(r.nlh, IFA_LOCAL, 16, addr.data());
  mnl_attr_put(r.nlh, IFA_ADDRESS, 16, addr.data());
  mnl_attr_put_u32(r.nlh, IFA_FLAGS, IFA_F_NODAD);
  int rc = s.request(r.nlh);
  if (rc != -EEXIST)
    expect_ok(rc, cat("add address ", net::ip6_string(addr), "/", prefix));
}

void add_default_route6(Socket &s, const Link &dev, const std::array<uint8_t, 16> &gateway) {
  log::debug("netlink RTM_NEWROUTE -6 default via ", net::ip6_string(gateway), " dev ", dev.name);
  Request r(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto *rtm = r.extra<rtmsg>();
  rtm->rtm_family = AF_INET6;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put(r.nlh, RTA_GATEWAY, 16, gateway.data());
  mnl_attr_put_u32(r.nlh, RTA_OIF, static_cast<uint32_t>(dev.index));
  expect_ok(s.request(r.nlh), cat("add the IPv6 default route via ", net::ip6_string(gateway)));
}

} // namespace koker::netlink
