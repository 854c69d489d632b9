// SPDX-License-Identifier: MIT
// koker-oci: an OCI runtime with runc's command line, for podman (--runtime), containerd's
// runc shim (BinaryName) and the runtime-spec's conformance suite.
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/main.hpp"
#include "base/rootless.hpp"
#include "oci_args.hpp"
#include "oci_update.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/oci_exec.hpp"
#include "runtime/oci_runtime.hpp"
#include "runtime/oci_spec.hpp"
#include "runtime/supervise.hpp"
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

using namespace koker;

static const char USAGE[] =
    "Usage: koker-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] [ID] [ARG...]\n"
    "\n"
    "Run containers from OCI bundles (a config.json and a root file system), with runc's\n"
    "command line, so that podman, containerd and Kubernetes can use koker.\n"
    "\n"
    "Commands:\n"
    "  create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]\n"
    "         [--no-new-keyring] [--preserve-fds N] ID   set up, the command waits for start\n"
    "  start ID                    run the command of a created container\n"
    "  exec [--process F] [-d] [-t] [--console-socket S] [--pid-file F]\n"
    "       [--preserve-fds N] [-e K=V]... [--cwd DIR] [-u UID[:GID]] [-g GID]...\n"
    "       [--cap CAP]... [--no-new-privs] [--ignore-paused] ID [CMD [ARG...]]\n"
    "                              run a process in the container's namespaces\n"
    "  run [create's options] [-d] ID  create and start; wait unless -d\n"
    "  state ID                    the runtime-spec's state JSON\n"
    "  kill [--all] ID [SIGNAL]    signal the init (default TERM), or every process\n"
    "  delete [--force] ID         remove a stopped container (any, with --force)\n"
    "  list [--format table|json] [-q]  the containers\n"
    "  ps [--format table|json] ID  the container's processes\n"
    "  pause ID, resume ID         freeze and thaw every process\n"
    "  update [-r FILE|-] [--memory N] [--memory-swap N] [--memory-reservation N]\n"
    "         [--cpu-share N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L]\n"
    "         [--cpuset-mems L] [--pids-limit N] [--blkio-weight N] ... ID\n"
    "                              change the limits of a running container\n"
    "  spec [--bundle DIR]         write runc's default config.json\n"
    "  features                    what this runtime supports, as JSON\n"
    "\n"
    "Global options:\n"
    "      --root DIR              state directory (default /run/koker-oci; rootless\n"
    "                              $XDG_RUNTIME_DIR/koker-oci, else /tmp/koker-oci-UID)\n"
    "      --log FILE              append messages to FILE\n"
    "      --log-format text|json  json: one {\"level\",\"msg\",\"time\"} object a line\n"
    "      --systemd-cgroup        cgroupsPath is systemd's slice:prefix:name (recorded)\n"
    "  -D, --debug                 trace every system-level step on stderr\n"
    "  -h, --help                  show this help\n"
    "  -v, --version               show the version\n";

using namespace koker::oci_cli;

namespace {

struct Global {
  std::string root, log_file, log_format = "text";
  bool systemd_cgroup = false;
};

// Appends one message to --log: a JSON object per line with --log-format json (podman parses
// the file as one object on failure, containerd keeps the last error), else a text line.
void log_to_file(const Global &g, const char *level, const std::string &msg) {
  if (g.log_file.empty())
    return;
  Fd f(::open(g.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!f)
    return;
  std::string line =
      g.log_format == "json"
          ? cat("{\"level\":", json::quote(level), ",\"msg\":", json::quote(msg),
                ",\"time\":", json::quote(sys::now_rfc3339()), "}\n")
          : cat(sys::now_rfc3339(), " ", level, ": ", msg, "\n");
  ssize_t ignored = ::write(f.get(), line.data(), line.size());
  (void)ignored;
}

const std::map<std::string, bool> create_flags = {
    {"bundle", true},          {"pid-file", true}, {"console-socket", true},
    {"no-pivot", false},       {"no-new-keyring", false}, {"preserve-fds", true},
    {"detach", false},         {"keep", false}};

oci::CreateOptions create_options(const Global &g, const Args &a) {
  oci::CreateOptions o;
  o.root = g.root;
  o.id = one_id(a);
  o.bundle = a.get("bundle", ".");
  o.pid_file = a.get("pid-file");
  o.console_socket = a.get("console-socket");
  o.no_pivot = a.has("no-pivot");
  o.systemd_cgroup = g.systemd_cgroup;
  if (a.has("preserve-fds")) {
    auto n = sys::parse_uint(a.get("preserve-fds"));
    if (!n || *n > 1000)
      fail("invalid --preserve-fds ", printable(a.get("preserve-fds")));
    o.preserve_fds = static_cast<int>(*n);
  }
  return o;
}

int run_container(const Global &g, const Args &a) {
  oci::CreateOptions o = create_options(g, a);
  o.exec_at_once = true;
  if (!a.has("detach"))
    supervise::block_signals(); // forwarded to the container by wait_for
  pid_t pid = oci::create(o);
  if (a.has("detach"))
    return 0;
  int code = supervise::wait_for(pid, -1, false);
  oci::remove(g.root, o.id, true);
  return code;
}

const std::map<std::string, bool> exec_flags = {
    {"process", true},        {"detach", false},         {"tty", false},
    {"console-socket", true}, {"pid-file", true},        {"preserve-fds", true},
    {"env", true},            {"cwd", true},             {"user", true},
    {"additional-gids", true}, {"cap", true},            {"no-new-privs", false},
    {"ignore-paused", false}, {"no-subreaper", false},   {"apparmor", true},
    {"process-label", true}};
const std::map<std::string, std::string> exec_shorts = {
    {"-p", "process"}, {"-d", "detach"}, {"-t", "tty"}, {"-e", "env"},
    {"-u", "user"},    {"-g", "additional-gids"}, {"-c", "cap"}};

// runc exec's failures exit 255 ("exec failed: ..."), the process's own status otherwise.
int exec_process(const Global &g, const Args &a) {
  oci::ExecOptions o;
  o.root = g.root;
  o.id = one_id(a);
  o.args.assign(a.operands.begin() + 1, a.operands.end());
  o.process_file = a.get("process");
  o.detach = on(a, "detach");
  if (a.has("tty"))
    o.tty = on(a, "tty");
  o.console_socket = a.get("console-socket");
  o.pid_file = a.get("pid-file");
  o.cwd = a.get("cwd");
  o.user = a.get("user");
  o.no_new_privs = on(a, "no-new-privs");
  o.ignore_paused = on(a, "ignore-paused");
  if (a.all.count("env"))
    o.env = a.all.at("env");
  if (a.all.count("cap"))
    o.caps = a.all.at("cap");
  if (a.all.count("additional-gids"))
    for (const auto &gid : a.all.at("additional-gids")) {
      auto n = sys::parse_uint(gid);
      if (!n || *n > 0xfffffffeULL)
        fail("invalid --additional-gids ", printable(gid));
      o.additional_gids.push_back(static_cast<uint32_t>(*n));
    }
  if (a.has("preserve-fds")) {
    auto n = sys::parse_uint(a.get("preserve-fds"));
    if (!n || *n > 1000)
      fail("invalid --preserve-fds ", printable(a.get("preserve-fds")));
    o.preserve_fds = static_cast<int>(*n);
  }
  try {
    return oci::exec(o);
  } catch (const std::exception &e) {
    throw Error(cat("exec failed: ", e.what()), 255);
  }
}

void print_list(const Global &g, const Args &a) {
  std::string format = a.get("format", "table");
  auto ids = oci::list(g.root);
  if (a.has("quiet")) {
    for (const auto &id : ids)
      out::line(id);
    return;
  }
  if (format == "json") {
    json::Value list = json::Value::array();
    for (const auto &id : ids)
      if (auto st = oci::load(g.root, id))
        list.push(json::parse(oci::state_json(g.root, *st), "state"));
    out::line(list.dump());
    return;
  }
  out::line("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER");
  for (const auto &id : ids)
    if (auto st = oci::load(g.root, id)) {
      std::string s = oci::status(g.root, *st);
      out::line(cat(id, "\t", s == "stopped" ? 0 : st->pid, "\t", s, "\t", st->bundle, "\t",
                    st->created, "\troot"));
    }
}

void print_ps(const Global &g, const Args &a) {
  auto pids = oci::pids(g.root, one_id(a));
  if (a.get("format", "table") == "json") {
    json::Value list = json::Value::array();
    for (pid_t p : pids)
      list.push(json::Value(static_cast<int64_t>(p)));
    out::line(list.dump());
    return;
  }
  out::line("PID");
  for (pid_t p : pids)
    out::line(std::to_string(p));
}

void write_spec(const Args &a) {
  std::string path = a.get("bundle", ".") + "/config.json";
  if (sys::exists(path))
    fail("File ", path, " exists. Remove it first");
  Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!f)
    sys_fail("unable to create ", path);
  sys::write_fd(f.get(), oci::default_spec_json(), path);
}

void print_features() {
  json::Value v = json::parse(R"({"ociVersionMin":"1.0.0","ociVersionMax":"1.0.2",
    "hooks":["prestart","createRuntime","createContainer","startContainer","poststart",
    "poststop"],"mountOptions":["ro","rw","suid","nosuid","dev","nodev","exec","noexec","sync",
    "async","remount","mand","nomand","atime","noatime","diratime","nodiratime","relatime",
    "norelatime","strictatime","nostrictatime","bind","rbind","private","rprivate","shared",
    "rshared","slave","rslave","unbindable","runbindable"],
    "linux":{"namespaces":["cgroup","ipc","mount","network","pid","user","uts"],
    "cgroup":{"v1":true,"v2":true,"systemd":false,"systemdUser":false},
    "seccomp":{"enabled":true,"actions":["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP"],"operators":["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE",
    "SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"]}}})",
                              "features");
  out::line(v.dump(2));
}

int dispatch(const Global &g, const std::string &cmd, const std::vector<std::string> &words) {
  if (cmd == "create") {
    oci::create(create_options(g, parse_args(words, create_flags, {{"-b", "bundle"}})));
  } else if (cmd == "run") {
    return run_container(g, parse_args(words, create_flags, {{"-d", "detach"}, {"-b", "bundle"}}));
  } else if (cmd == "start") {
    oci::start(g.root, one_id(parse_args(words, {})));
  } else if (cmd == "state") {
    std::string id = one_id(parse_args(words, {}));
    out::line(oci::state_json(g.root, oci::get(g.root, id)));
  } else if (cmd == "kill") {
    Args a = parse_args(words, {{"all", false}}, {{"-a", "all"}});
    std::string sig = a.operands.size() > 1 ? a.operands[1] : "TERM";
    oci::kill(g.root, one_id(a), lifecycle::parse_signal(sig), a.has("all"));
  } else if (cmd == "delete") {
    Args a = parse_args(words, {{"force", false}}, {{"-f", "force"}});
    oci::remove(g.root, one_id(a), a.has("force"));
  } else if (cmd == "list") {
    print_list(g, parse_args(words, {{"format", true}, {"quiet", false}},
                             {{"-f", "format"}, {"-q", "quiet"}}));
  } else if (cmd == "ps") {
    print_ps(g, parse_args(words, {{"format", true}}, {{"-f", "format"}}));
  } else if (cmd == "pause") {
    oci::pause(g.root, one_id(parse_args(words, {})));
  } else if (cmd == "resume") {
    oci::resume(g.root, one_id(parse_args(words, {})));
  } else if (cmd == "spec") {
    write_spec(parse_args(words, {{"bundle", true}, {"rootless", false}}, {{"-b", "bundle"}}));
  } else if (cmd == "features") {
    print_features();
  } else if (cmd == "exec") {
    return exec_process(g, parse_args(words, exec_flags, exec_shorts));
  } else if (cmd == "update") {
    oci_cli::update_container(g.root, parse_args(words, update_flags, {{"-r", "resources"}}));
  } else if (cmd == "checkpoint" || cmd == "restore" || cmd == "events") {
    fail("koker-oci ", cmd, " is not supported yet");
  } else {
    fail("unknown command ", printable(cmd), " (see koker-oci --help)");
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  log::set_prog("koker-oci");
  ::signal(SIGPIPE, SIG_IGN); // a child that failed closes its pipes early
  Global g;
  std::vector<std::string> words(argv + 1, argv + argc);
  size_t i = 0;
  try {
    Args a = parse_args(words,
                        {{"root", true}, {"log", true}, {"log-format", true},
                         {"systemd-cgroup", false}, {"debug", false}, {"help", false},
                         {"version", false}, {"criu", true}, {"rootless", true}},
                        {{"-D", "debug"}, {"-h", "help"}, {"-v", "version"}});
    if (a.has("help")) {
      out::text(USAGE);
      return 0;
    }
    if (a.has("version")) {
      out::text(cat("koker-oci version ", KOKER_VERSION, "\nspec: 1.0.2\n"));
      return 0;
    }
    // Rootless podman passes no --root: its runtime is uid 0 of podman's user namespace,
    // with the user's XDG_RUNTIME_DIR.
    g.root = a.has("root") ? a.get("root") : rootless::runtime_dir("koker-oci");
    g.log_file = a.get("log");
    g.log_format = a.get("log-format", "text");
    g.systemd_cgroup = a.has("systemd-cgroup");
    if (a.has("debug") || sys::env("KOKER_DEBUG") == "1")
      log::set_level(log::Level::debug);
    if (a.operands.empty()) {
      out::text(USAGE);
      return 1;
    }
    i = words.size() - a.operands.size();
    std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
    return dispatch(g, words[i], rest);
  } catch (const std::exception &e) {
    std::string msg = e.what();
    log::fatal(msg);
    log_to_file(g, "error", msg);
    auto *err = dynamic_cast<const Error *>(&e);
    return err && err->exit_code() == 255 ? 255 : 1;
  }
}
