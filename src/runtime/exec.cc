#include "runtime/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container_init.h"
#include "runtime/launcher.h"
#include "runtime/seccomp.h"
#include "runtime/terminal.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {
namespace {

struct NsFd {
  NamespaceType type;
  int fd;
};

Result<Spec> savedSpec(const StateStore& store, const ContainerState& st) {
  std::string text = BERTH_TRY(sys::readFile(store.configPath(st.id)));
  return parseSpec(text, st.bundle);
}

// Order matters: the user namespace first (it grants the rights to join the others), the
// mount namespace last (it changes what paths mean).
constexpr NamespaceType kJoinOrder[] = {
    NamespaceType::kUser,   NamespaceType::kIpc,  NamespaceType::kUts,  NamespaceType::kNetwork,
    NamespaceType::kCgroup, NamespaceType::kTime, NamespaceType::kMount};

}  // namespace

Result<Process> containerProcess(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  Spec spec = BERTH_TRY(savedSpec(store, st));
  return spec.process;
}

Result<int> exec(const StateStore& store, const ExecOptions& opts) {
  ContainerState st = BERTH_TRY(store.load(opts.id));
  ContainerStatus status = currentStatus(st, store);
  if (status != ContainerStatus::kRunning && status != ContainerStatus::kCreated)
    return conflict("exec in container " + quote(opts.id) + ": it is " + statusName(status) +
                    ", not running");
  Spec spec = BERTH_TRY(savedSpec(store, st));
  std::unique_ptr<SeccompFilter> seccomp;
  if (spec.linux.seccomp)
    seccomp = BERTH_TRY(compileSeccompCached(*spec.linux.seccomp, store.seccompCacheDir()));
  auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));

  std::string proc = "/proc/" + std::to_string(st.pid) + "/ns/";
  std::vector<NsFd> join;
  auto closeAll = [&] {
    for (auto& n : join) ::close(n.fd);
  };
  for (NamespaceType t : kJoinOrder) {
    if (!spec.linux.hasNamespace(t)) continue;
    int fd = ::open((proc + namespaceProcName(t)).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      closeAll();
      return errnoError(
          std::string("open ") + namespaceName(t) + " namespace of container " + quote(opts.id),
          err);
    }
    join.push_back({t, fd});
  }
  if (spec.linux.hasNamespace(NamespaceType::kPid)) {
    int fd = ::open((proc + "pid").c_str(), O_RDONLY | O_CLOEXEC);
    int r = fd < 0 ? -1 : ::setns(fd, CLONE_NEWPID);
    int err = errno;
    if (fd >= 0) ::close(fd);
    if (r != 0) {
      closeAll();
      return errnoError("join pid namespace of container " + quote(opts.id), err);
    }
  }
  int console_fd = -1;
  int term_sock[2] = {-1, -1};
  bool proxy = opts.process.terminal && opts.console_socket.empty() && !opts.detach;
  if (opts.process.terminal) {
    if (proxy) {
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, term_sock) != 0) {
        closeAll();
        return errnoError("create terminal socket", errno);
      }
      console_fd = term_sock[1];
    } else if (opts.console_socket.empty()) {
      closeAll();
      return invalidArgument("exec with a terminal in the background needs --console-socket");
    } else {
      auto fd = sys::connectUnix(opts.console_socket);
      if (!fd) {
        closeAll();
        return fd.error();
      }
      console_fd = *fd;
    }
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    closeAll();
    return errnoError("create sync socket", errno);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    closeAll();
    return errnoError("fork", errno);
  }
  if (pid == 0) {
    ::close(sv[0]);
    std::vector<int> keep = {sv[1], console_fd};
    for (const auto& n : join) keep.push_back(n.fd);
    if (auto c = sys::closeInheritedFds(opts.preserve_fds, keep); !c) failChild(sv[1], c.error());
    if (auto s = expectMsg(sv[1], msg::kGo); !s) _exit(1);
    for (const auto& n : join) {
      if (::setns(n.fd, namespaceCloneFlag(n.type)) != 0) {
        failChild(sv[1],
                  errnoError(std::string("join ") + namespaceName(n.type) + " namespace", errno));
      }
    }
    ProcessLaunch launch;
    launch.process = &opts.process;
    launch.seccomp = seccomp.get();
    launch.sync_fd = sv[1];
    launch.console_fd = console_fd;
    launch.in_user_namespace = spec.linux.hasNamespace(NamespaceType::kUser);
    launch.preserve_fds = opts.preserve_fds;
    becomeProcess(launch, -1, nullptr, "");
  }
  closeAll();
  ::close(sv[1]);
  if (term_sock[1] >= 0)
    ::close(term_sock[1]);
  else if (console_fd >= 0)
    ::close(console_fd);
  int sync = sv[0];
  auto fail = [&](const Error& e) -> Result<int> {
    ::close(sync);
    ::kill(pid, SIGKILL);
    (void)sys::waitChild(pid);
    if (term_sock[0] >= 0) ::close(term_sock[0]);
    return e.context("exec in container " + quote(opts.id));
  };
  if (auto s = cg->addProcess(pid); !s) return fail(s.error());
  if (auto s = sendMsg(sync, msg::kGo); !s) return fail(s.error());
  if (auto s = expectMsg(sync, msg::kReady); !s) return fail(s.error());
  ::close(sync);
  if (!opts.pid_file.empty()) BERTH_RETURN_IF_ERROR(writePidFile(opts.pid_file, pid));
  if (opts.detach) return 0;
  forwardSignalsTo(pid);
  if (proxy) {
    auto master = sys::recvFd(term_sock[0]);
    ::close(term_sock[0]);
    if (master) {
      proxyTerminal(*master);
      ::close(*master);
    }
  }
  int code = sys::exitCodeOf(BERTH_TRY(sys::waitChild(pid)));
  forwardSignalsTo(0);
  return code;
}

}  // namespace berth::runtime
