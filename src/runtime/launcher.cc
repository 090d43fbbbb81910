#include "runtime/launcher.h"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/strings.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container_init.h"
#include "runtime/hooks.h"
#include "runtime/seccomp.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {
namespace {

std::string mappingText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

// Undoes a partial create. Each step tolerates what was never made.
struct Cleanup {
  const StateStore& store;
  std::string id;
  pid_t child = -1;
  cgroup::Manager* cg = nullptr;
  bool armed = true;

  ~Cleanup() {
    if (!armed) return;
    if (child > 0) {
      ::kill(child, SIGKILL);
      (void)sys::waitChild(child);
    }
    if (cg) {
      if (auto s = cg->destroy(); !s) log::warn("clean up: " + s.error().message());
    }
    (void)store.remove(id);
  }
};

Status checkSpec(const Spec& spec) {
  if (!spec.has_process) return invalidArgument("process: required to create a container");
  if (!sys::isDirectory(spec.root_path))
    return notFound("root.path: " + quote(spec.root_path) + " is not a directory");
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == NamespaceType::kTime && ns.path.empty())
      return unsupported(
          "linux.namespaces: a new 'time' namespace is not supported; join one by path");
    if (!ns.path.empty() && !sys::exists(ns.path))
      return notFound(std::string("linux.namespaces: ") + namespaceName(ns.type) +
                      " namespace path " + quote(ns.path) + " does not exist");
  }
  return okStatus();
}

std::string ownerName() {
  struct passwd* pw = ::getpwuid(::getuid());
  return pw ? pw->pw_name : std::to_string(::getuid());
}

}  // namespace

// The devices every container gets, plus the ones its spec lists, are always allowed in
// the devices cgroup after the spec's own rules, as runc does: a spec that denies all (the
// default) must still be able to use /dev/null and its terminal.
Resources withDefaultDeviceRules(const Resources& resources, const std::vector<Device>& devices) {
  Resources r = resources;
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor) {
    r.devices.push_back(DeviceRule{true, type, major, minor, "rwm"});
  };
  for (auto [major, minor] :
       {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}}) {
    allow("c", major, minor);
  }
  allow("c", 136, std::nullopt);  // /dev/pts/*
  for (const auto& d : devices) {
    if (d.type == 'p') continue;
    allow(d.type == 'b' ? "b" : "c", d.major, d.minor);
  }
  return r;
}

Status writePidFile(const std::string& path, pid_t pid) {
  // Like the state (state.h): atomic, not flushed; the pid means nothing after a reboot.
  return sys::replaceFile(path, std::to_string(pid));
}

Result<Created> createContainer(const StateStore& store, const CreateOptions& opts) {
  Spec spec = BERTH_TRY(loadSpec(opts.bundle));
  BERTH_RETURN_IF_ERROR(checkSpec(spec));
  std::unique_ptr<SeccompFilter> seccomp;
  if (spec.linux.seccomp)
    seccomp = BERTH_TRY(compileSeccompCached(*spec.linux.seccomp, store.seccompCacheDir()));
  std::string cg_path = BERTH_TRY(cgroup::resolvePath(spec.linux.cgroups_path, opts.id));

  BERTH_RETURN_IF_ERROR(store.reserve(opts.id));
  std::unique_ptr<cgroup::Manager> cg;  // outlives `cleanup`, which uses it
  Cleanup cleanup{store, opts.id};
  auto config = sys::readFile(opts.bundle + "/config.json");
  if (!config) return config.error();
  BERTH_RETURN_IF_ERROR(sys::replaceFile(store.configPath(opts.id), *config));

  cg = BERTH_TRY(cgroup::openHostManager(cg_path));
  BERTH_RETURN_IF_ERROR(cg->create());
  cleanup.cg = cg.get();
  std::vector<std::string> warnings;
  auto applied =
      cg->apply(withDefaultDeviceRules(spec.linux.resources, spec.linux.devices), &warnings);
  if (!applied) return applied.error().context("apply linux.resources to cgroup " + quote(cg_path));
  for (const auto& w : warnings) log::warn(w);
  for (const auto& w : spec.linux.resources.ignored) log::warn(w + ": not supported yet, ignored");

  ContainerState st;
  st.id = opts.id;
  st.bundle = opts.bundle;
  st.rootfs = spec.root_path;
  st.created = log::nowRfc3339();
  st.owner = ownerName();
  st.cgroup_path = cg_path;
  st.annotations = spec.annotations;

  int fifo_fd = -1;
  if (opts.wait_for_start) {
    std::string fifo = store.fifoPath(opts.id);
    if (::mkfifo(fifo.c_str(), 0622) != 0) return errnoError("create " + quote(fifo), errno);
    ::chmod(fifo.c_str(), 0622);
    fifo_fd = ::open(fifo.c_str(), O_PATH | O_CLOEXEC);
    if (fifo_fd < 0) return errnoError("open " + quote(fifo), errno);
  }
  int console_fd = opts.console_fd;
  if (spec.process.terminal && console_fd < 0) {
    if (opts.console_socket.empty())
      return invalidArgument(
          "process.terminal is true: pass --console-socket (or run in the foreground)");
    console_fd = BERTH_TRY(sys::connectUnix(opts.console_socket));
  }

  // A pid namespace can only be entered by a new process: join it here, before clone.
  const Namespace* pidns = spec.linux.findNamespace(NamespaceType::kPid);
  const Namespace* userns = spec.linux.findNamespace(NamespaceType::kUser);
  bool join_user_first = userns && !userns->path.empty();
  int clone_flags = 0;
  if (pidns && !pidns->path.empty()) {
    int fd = ::open(pidns->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWPID) != 0)
      return errnoError("join pid namespace " + quote(pidns->path), errno);
    ::close(fd);
  }
  for (const auto& ns : spec.linux.namespaces) {
    if (!ns.path.empty() || ns.type == NamespaceType::kTime) continue;
    // With a joined user namespace, the new ones are made after joining it, so that it
    // owns them; only pid must be new at clone time.
    if (join_user_first && ns.type != NamespaceType::kPid) continue;
    clone_flags |= namespaceCloneFlag(ns.type);
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return errnoError("create sync socket", errno);

  InitArgs init;
  init.spec = &spec;
  init.rootfs.spec = &spec;
  init.rootfs.in_user_namespace = userns != nullptr;
  init.rootfs.cgroup_dirs = cg->hostDirs();
  init.rootfs.cgroup_v2 = cg->version() == cgroup::Version::kV2;
  init.launch.process = &spec.process;
  init.launch.seccomp = seccomp.get();
  init.launch.sync_fd = sv[1];
  init.launch.console_fd = console_fd;
  init.launch.in_user_namespace = userns != nullptr;
  init.launch.preserve_fds = opts.preserve_fds;
  init.fifo_fd = fifo_fd;
  init.state_json = stateJson(st, ContainerStatus::kCreating);
  init.join_user_first = join_user_first;

  pid_t pid = static_cast<pid_t>(
      ::syscall(SYS_clone, clone_flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) {
    int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return errnoError("create container process in new namespaces", err);
  }
  if (pid == 0) {
    ::close(sv[0]);
    runContainerInit(init);
  }
  ::close(sv[1]);
  if (fifo_fd >= 0) ::close(fifo_fd);
  if (console_fd >= 0 && console_fd != opts.console_fd) ::close(console_fd);
  cleanup.child = pid;
  int sync = sv[0];
  auto fail = [&](const Error& e) {
    ::close(sync);
    return e;
  };

  if (userns && userns->path.empty()) {
    std::string proc = "/proc/" + std::to_string(pid);
    auto s = sys::writeFile(proc + "/uid_map", mappingText(spec.linux.uid_mappings));
    if (!s) return fail(s.error().context("linux.uidMappings"));
    s = sys::writeFile(proc + "/gid_map", mappingText(spec.linux.gid_mappings));
    if (!s) return fail(s.error().context("linux.gidMappings"));
  }
  if (spec.process.oom_score_adj) {
    auto s = sys::writeFile("/proc/" + std::to_string(pid) + "/oom_score_adj",
                            std::to_string(*spec.process.oom_score_adj));
    if (!s) return fail(s.error().context("process.oomScoreAdj"));
  }
  // Moving a process between cgroups waits for an RCU grace period on v1 (~10 ms): let the
  // child set up its mounts meanwhile. It cannot pivot or exec before 'O', which comes
  // only after it is in its cgroup.
  if (auto s = sendMsg(sync, msg::kGo); !s) return fail(s.error());
  if (auto s = cg->addProcess(pid); !s) return fail(s.error());
  if (auto s = expectMsg(sync, msg::kHooks); !s)
    return fail(s.error().context("create container " + quote(opts.id)));
  st.pid = pid;
  auto ps = sys::procStat(pid);
  st.pid_start_time = ps ? ps->start_time : 0;
  std::string creating = stateJson(st, ContainerStatus::kCreating);
  if (auto s = runHooks(spec.hooks.prestart, "prestart", creating); !s) return fail(s.error());
  if (auto s = runHooks(spec.hooks.create_runtime, "createRuntime", creating); !s)
    return fail(s.error());
  if (auto s = sendMsg(sync, msg::kHooksDone); !s) return fail(s.error());
  if (auto s = expectMsg(sync, msg::kReady); !s)
    return fail(s.error().context("create container " + quote(opts.id)));
  ::close(sync);

  BERTH_RETURN_IF_ERROR(store.save(st));
  if (!opts.pid_file.empty()) BERTH_RETURN_IF_ERROR(writePidFile(opts.pid_file, pid));
  cleanup.armed = false;
  return Created{std::move(st), std::move(spec)};
}

}  // namespace berth::runtime
