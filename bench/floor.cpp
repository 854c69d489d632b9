// SPDX-License-Identifier: MIT
// bench/floor: the least work a container start can be, to measure koker-run against (issue
// 21.1: koker-run --network none within 4 x of it). One run: clone into the namespaces
// koker-run makes (mount, pid, uts, ipc, net, cgroup), an overlay of ROOTFS with a fresh upper
// directory, the file systems runc's default spec mounts (proc, /dev tmpfs, devpts, shm,
// mqueue, read-only sysfs) and the six device nodes bound in, pivot_root, exec of the
// command; then wait, and remove the upper directory. No records, no cgroup, no seccomp, no
// capabilities, no error messages beyond one line: only what the kernel must do.
//
//   floor ROOTFS SCRATCH CMD [ARG...]      exit status: the command's
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "floor: %s: %s\n", what.c_str(), std::strerror(errno));
  _exit(125);
}

void do_mount(const std::string &src, const std::string &dst, const char *type,
              unsigned long flags, const char *data) {
  if (::mount(src.c_str(), dst.c_str(), type, flags, data) < 0)
    die("mount " + dst);
}

struct Args {
  std::string rootfs, dir;
  char **argv;
};

// In the new namespaces: the root file system, then the command.
int child(void *arg) {
  const Args &a = *static_cast<Args *>(arg);
  do_mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  std::string root = a.dir + "/merged";
  std::string data = "lowerdir=" + a.rootfs + ",upperdir=" + a.dir + "/upper,workdir=" + a.dir +
                     "/work";
  do_mount("overlay", root, "overlay", 0, data.c_str());
  const unsigned long nosuid = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  do_mount("proc", root + "/proc", "proc", nosuid, nullptr);
  do_mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (const char *d : {"/dev/pts", "/dev/shm", "/dev/mqueue"})
    if (::mkdir((root + d).c_str(), 0755) < 0)
      die(std::string("mkdir ") + d);
  do_mount("devpts", root + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  do_mount("shm", root + "/dev/shm", "tmpfs", nosuid, "mode=1777,size=65536k");
  do_mount("mqueue", root + "/dev/mqueue", "mqueue", nosuid, nullptr);
  do_mount("sysfs", root + "/sys", "sysfs", nosuid | MS_RDONLY, nullptr);
  for (const char *dev : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string target = root + "/dev/" + dev;
    int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0)
      die("create " + target);
    ::close(fd);
    do_mount(std::string("/dev/") + dev, target, nullptr, MS_BIND, nullptr);
  }
  // pivot_root(".", "."): the old root stacks under the new one and is detached at once, as
  // runc does, so no directory for it is needed.
  if (::chdir(root.c_str()) < 0 || ::syscall(SYS_pivot_root, ".", ".") < 0)
    die("pivot_root " + root);
  if (::umount2(".", MNT_DETACH) < 0 || ::chdir("/") < 0)
    die("detach the old root");
  ::execv(a.argv[0], a.argv);
  die(std::string("exec ") + a.argv[0]);
}

int remove_entry(const char *path, const struct stat *, int, struct FTW *) {
  return ::remove(path) < 0 ? -1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: floor ROOTFS SCRATCH CMD [ARG...]\n");
    return 125;
  }
  std::string tmpl = std::string(argv[2]) + "/floor-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    die("mkdtemp in " + std::string(argv[2]));
  Args a{argv[1], tmpl, argv + 3};
  for (const char *d : {"/upper", "/work", "/merged"})
    if (::mkdir((a.dir + d).c_str(), 0755) < 0)
      die("mkdir " + a.dir + d);
  static char stack[256 << 10];
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
              CLONE_NEWCGROUP | SIGCHLD;
  pid_t pid = ::clone(child, stack + sizeof stack, flags, &a);
  if (pid < 0)
    die("clone");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid");
  // The mounts went with the mount namespace; the upper and work directories stay to remove.
  if (::nftw(a.dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
    die("remove " + a.dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
