// SPDX-License-Identifier: MIT
// koker-run: create and start a container from a stored image.
#include "caps.hpp"
#include "container.hpp"
#include "error.hpp"
#include "image.hpp"
#include "init.hpp"
#include "log.hpp"
#include "main.hpp"
#include "run_options.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "sys.hpp"
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

static std::string json_list(const std::vector<std::string> &v) {
  std::string s;
  for (const auto &x : v)
    s += (s.empty() ? "" : " ") + x;
  return s;
}

// The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written into its directory
// and bound in by the child.
static void write_etc_files(const std::string &dir, const container::Record &rec) {
  sys::write_file_atomic(dir + "/hostname", rec.hostname + "\n", 0644, false);
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!rec.ip_address.empty())
    hosts += cat(rec.ip_address, "\t", rec.hostname, rec.name.empty() ? "" : " " + rec.name, "\n");
  sys::write_file_atomic(dir + "/hosts", hosts, 0644, false);
  sys::write_file_atomic(dir + "/resolv.conf", run::host_resolv_conf(), 0644, false);
}

// Receives the pty master the child allocated inside the container (SCM_RIGHTS).
static Fd receive_master(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
    return Fd();
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS)
    return Fd();
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return Fd(fd);
}

static int run_main(int argc, char **argv) {
  run::Options o = run::parse(argc, argv);
  store::Store store(store_root());
  store::ImageRecord img = run::resolve_image(store, o.image);
  auto config_body = store.read_blob(img.id, image::max_config_size);
  if (!config_body)
    fail("unable to read the config of image ", img.id);
  image::Config cfg = image::parse_config(*config_body);

  container::Record rec = run::make_record(o, img, cfg);
  std::string dir = container::dir_of(store.root(), rec.id);
  sys::Rollback undo;
  sys::mkdir_p(store.root() + "/containers", 0700);
  log::debug("mkdir ", dir, " {upper,work,rootfs}");
  check(::mkdir(dir.c_str(), 0700), "unable to create ", dir);
  undo.add("rm -rf " + dir, [dir] { sys::rm_rf(dir); });
  for (const char *sub : {"/upper", "/work", "/rootfs"})
    check(::mkdir((dir + sub).c_str(), 0755), "unable to create ", dir, sub);
  if (!rec.name.empty()) {
    container::claim_name(store.root(), rec.name, rec.id);
    std::string root = store.root(), name = rec.name;
    undo.add("release name " + name, [root, name] { container::release_name(root, name); });
  }
  write_etc_files(dir, rec);
  container::save(store.root(), rec);
  if (!o.cidfile.empty()) {
    Fd cid(::open(o.cidfile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!cid)
      sys_fail("unable to create the cidfile ", o.cidfile);
    sys::write_fd(cid.get(), rec.id, o.cidfile);
  }

  init::Spec spec = run::make_spec(o, rec, store, img, dir);
  int sync[2], report[2], console[2] = {-1, -1};
  check(::pipe2(sync, O_CLOEXEC), "unable to create a pipe");
  check(::pipe2(report, O_CLOEXEC), "unable to create a pipe");
  if (o.tty)
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console),
          "unable to create the console socket");
  Fd sync_w(sync[1]), report_r(report[0]), console_parent(console[0]);

  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;
  if (spec.own_uts)
    flags |= CLONE_NEWUTS;
  if (spec.own_net)
    flags |= CLONE_NEWNET;
  if (spec.cgroup_ns)
    flags |= CLONE_NEWCGROUP;
  supervise::block_signals();
  log::debug("clone(", run::clone_flags_string(flags), ")");
  // Like fork(2), with new namespaces: the child runs on a copy of this stack.
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0)
    sys_fail("unable to clone the container process");
  if (pid == 0) {
    ::close(sync[1]);
    ::close(report[0]);
    if (console[0] >= 0)
      ::close(console[0]);
    init::run(spec, sync[0], report[1], console[1]);
  }
  ::close(sync[0]);
  ::close(report[1]);
  if (console[1] >= 0)
    ::close(console[1]);
  log::debug("container process ", pid, " in new namespaces");
  auto kill_child = [pid] {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  };
  undo.add("kill the container process", kill_child);

  // The child waits for this byte: by now it is in its cgroups and network.
  sys::write_fd(sync_w.get(), "g", "the start signal");
  sync_w.reset();
  Fd master;
  if (o.tty)
    master = receive_master(console_parent.get());
  std::string failure = sys::read_fd(report_r.get(), 64 << 10);
  if (!failure.empty()) {
    int code = static_cast<unsigned char>(failure[0]);
    throw Error(failure.substr(1), code);
  }
  // execve succeeded: the container runs.
  rec.status = "running";
  rec.pid = static_cast<int>(pid);
  rec.pid_start = container::process_start_time(rec.pid);
  rec.started_at = sys::now_rfc3339();
  container::save(store.root(), rec);

  int code = supervise::wait_for(static_cast<pid_t>(pid), master.get(), o.interactive);
  undo.dismiss();
  rec.status = "exited";
  rec.exit_code = code;
  rec.finished_at = sys::now_rfc3339();
  log::debug("container ", rec.id.substr(0, 12), " exited with ", code);
  if (o.auto_remove) {
    log::debug("rm -rf ", dir, " (--rm)");
    container::release_name(store.root(), rec.name);
    sys::rm_rf(dir);
  } else {
    container::save(store.root(), rec);
  }
  (void)json_list;
  return code;
}

int main(int argc, char **argv) { return run_tool(argc, argv, "koker-run", run::USAGE, run_main); }
