// SPDX-License-Identifier: MIT
#include "runtime/seccomp_bpf.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include <cstring>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace koker::seccomp_bpf {

void lib_fail(int rc, std::string_view what) {
  throw Error(cat("unable to ", what, ": ", std::strerror(-rc)), 125, -rc);
}

std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx) {
  Fd fd(check(static_cast<int>(::syscall(SYS_memfd_create, "koker-seccomp", MFD_CLOEXEC)),
              "unable to create a memfd for the seccomp filter"));
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0)
    lib_fail(rc, "generate the seccomp filter");
  off_t size = check(::lseek(fd.get(), 0, SEEK_END), "unable to size the seccomp filter");
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)))
    fail("unable to generate the seccomp filter: libseccomp wrote ", size, " bytes");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), prog.data(), static_cast<size_t>(size), 0) != size)
    sys_fail("unable to read the seccomp filter back");
  return prog;
}

} // namespace koker::seccomp_bpf
