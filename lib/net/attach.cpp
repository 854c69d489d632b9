// SPDX-License-Identifier: MIT
#include "net/attach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "net/net.hpp"

namespace koker::net {

std::string attach_with_tool(const container::Record &rec, pid_t pid) {
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-net";
  std::vector<std::string> words = {"koker-net", "attach", rec.id, std::to_string(pid)};
  for (const auto &p : rec.publish) {
    words.push_back("-p");
    words.push_back(p);
  }
  log::debug("koker-net attach ", rec.id.substr(0, 12), " ", pid, " (the veth pair, the address",
             rec.publish.empty() ? "" : ", the published ports", ")");
  // koker-net inherits KOKER_DEBUG and KOKER_QUIET, and its stderr is this tool's.
  sys::Ran attach = sys::run_program(exe, words, {}, false);
  std::string address(text::trim(attach.out));
  if (attach.status == 0 && parse_ip(address))
    return address;
  if (attach.status == 127)
    fail("unable to run ", exe);
  if (attach.status == 0)
    fail("koker-net attach printed no address for container ", rec.id.substr(0, 12));
  throw Error("", attach.status);
}

} // namespace koker::net
