// SPDX-License-Identifier: MIT
#include "runtime/oci_process.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "runtime/caps.hpp"
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace koker::oci {

void apply_limits(const Process &p) {
  for (const auto &r : p.rlimits) {
    struct rlimit l = {r.soft, r.hard};
    log::debug("setrlimit ", rlimit_name(r.resource), " ", r.soft, ":", r.hard);
    check(::setrlimit(r.resource, &l), "unable to set ", rlimit_name(r.resource), " to ", r.soft, ":",
          r.hard);
  }
  if (p.oom_score_adj) {
    Fd f(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (!f)
      sys_fail("unable to open /proc/self/oom_score_adj");
    sys::write_fd(f.get(), std::to_string(*p.oom_score_adj), "oom_score_adj");
  }
}

// Changing the uid clears the permitted set unless KEEPCAPS is on (capabilities(7)).
void set_identity(const Process &p) {
  caps::limit_bounding(p.caps.bounding);
  check(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "unable to keep capabilities across setuid");
  std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
  log::debug("setgroups ", groups.size(), " groups; setresgid ", p.user.gid, "; setresuid ",
             p.user.uid);
  check(::setgroups(groups.size(), groups.data()), "unable to set groups");
  check(::setresgid(p.user.gid, p.user.gid, p.user.gid), "unable to set gid ", p.user.gid);
  check(::setresuid(p.user.uid, p.user.uid, p.user.uid), "unable to set uid ", p.user.uid);
  check(::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "unable to clear KEEPCAPS");
  caps::set_sets(p.caps.effective, p.caps.permitted, p.caps.inheritable);
  // The kernel raises an ambient capability only if it is permitted and inheritable; runc's
  // own default spec lists ambient ones with an empty inheritable set (CVE-2022-29162), and
  // runc skips those too.
  caps::Set ambient = p.caps.ambient & p.caps.permitted & p.caps.inheritable;
  if (ambient != p.caps.ambient)
    log::debug("ambient capabilities not inheritable are left out: ",
               caps::names(p.caps.ambient & ~ambient));
  caps::raise_ambient(ambient);
}

} // namespace koker::oci
