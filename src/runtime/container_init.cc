#include "runtime/container_init.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/strings.h"
#include "runtime/capabilities.h"
#include "runtime/hooks.h"
#include "sys/caps.h"
#include "sys/fs.h"
#include "sys/mount.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {
namespace {

const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string envValue(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env) {
    if (startsWith(e, key + "=")) return e.substr(key.size() + 1);
  }
  return "";
}

// execvp's search, but in the container's PATH rather than the runtime's.
Result<std::string> findProgram(const Process& p) {
  const std::string& name = p.args[0];
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return errnoError("exec " + quote(name), errno);
    return name;
  }
  std::string path = envValue(p.env, "PATH");
  if (path.empty()) path = kDefaultPath;
  for (const auto& dir : split(path, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return notFound("exec " + quote(name) + ": executable file not found in $PATH");
}

Status applyRlimits(const Process& p) {
  for (const auto& r : p.rlimits) {
    struct rlimit lim {
      r.soft, r.hard
    };
    if (::setrlimit(r.resource, &lim) != 0) {
      int err = errno;
      struct rlimit cur {};
      ::getrlimit(r.resource, &cur);
      std::string hint;
      if (err == EPERM && r.hard > cur.rlim_max)
        hint = " (the runtime's hard limit is " + std::to_string(cur.rlim_max) +
               " and raising it needs CAP_SYS_RESOURCE: lower process.rlimits)";
      return Error(err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kInvalidArgument,
                   "set " + r.type + " to " + std::to_string(r.soft) + ":" +
                       std::to_string(r.hard) + ": " + std::strerror(err) + hint);
    }
  }
  return okStatus();
}

Status setupTerminal(const ProcessLaunch& l) {
  auto pty = sys::openPty();
  if (!pty) return pty.error().context("set up terminal");
  if (l.process->console_height || l.process->console_width) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(l.process->console_height);
    ws.ws_col = static_cast<unsigned short>(l.process->console_width);
    ::ioctl(pty->master, TIOCSWINSZ, &ws);
  }
  BERTH_RETURN_IF_ERROR(sys::sendFd(l.console_fd, pty->master, pty->slave_name));
  ::close(pty->master);
  ::close(l.console_fd);
  if (::ioctl(pty->slave, TIOCSCTTY, 0) != 0) return errnoError("set controlling terminal", errno);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(pty->slave, fd) < 0) return errnoError("attach terminal", errno);
  }
  if (pty->slave > 2) ::close(pty->slave);
  return okStatus();
}

Status switchUser(const ProcessLaunch& l, std::vector<std::string>* warnings) {
  const Process& p = *l.process;
  if (p.capabilities && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return errnoError("keep capabilities", errno);
  if (p.capabilities) BERTH_RETURN_IF_ERROR(sys::dropBoundingSet(p.capabilities->bounding));
  std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
  bool setgroups_denied = false;
  if (l.in_user_namespace) {
    auto text = sys::readFile("/proc/self/setgroups");
    setgroups_denied = text && trim(*text) == "deny";
  }
  if (!setgroups_denied && ::setgroups(groups.size(), groups.data()) != 0)
    return errnoError("set additional groups", errno);
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) != 0)
    return errnoError("set gid " + std::to_string(p.user.gid), errno);
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) != 0)
    return errnoError("set uid " + std::to_string(p.user.uid), errno);
  if (p.capabilities) {
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
      return errnoError("reset keep-capabilities", errno);
    const Capabilities& c = *p.capabilities;
    BERTH_RETURN_IF_ERROR(sys::setCapabilities(
        {c.bounding, c.effective, c.inheritable, c.permitted, c.ambient}, warnings));
  }
  if (p.user.umask) ::umask(*p.user.umask);
  return okStatus();
}

Status prepareProcess(const ProcessLaunch& l, std::string* program,
                      std::vector<std::string>* warnings) {
  const Process& p = *l.process;
  if (l.setsid && ::setsid() < 0 && errno != EPERM) return errnoError("create session", errno);
  if (p.terminal) {
    if (l.console_fd < 0)
      return invalidArgument(
          "process.terminal is true but no console socket was given (use --console-socket)");
    BERTH_RETURN_IF_ERROR(setupTerminal(l));
  }
  BERTH_RETURN_IF_ERROR(applyRlimits(p));
  if (!sys::isDirectory(p.cwd)) {
    auto s = sys::mkdirAll(p.cwd);
    if (!s) return s.error().context("process.cwd " + quote(p.cwd));
  }
  if (::chdir(p.cwd.c_str()) != 0) return errnoError("process.cwd: enter " + quote(p.cwd), errno);
  if (l.seccomp && !p.no_new_privileges) {
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load before dropping it.
    auto s = l.seccomp->load();
    if (!s) return s.error().context("load seccomp profile");
  }
  BERTH_RETURN_IF_ERROR(switchUser(l, warnings));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return errnoError("set no_new_privs", errno);
  if (l.seccomp && p.no_new_privileges) {
    auto s = l.seccomp->load();
    if (!s) return s.error().context("load seccomp profile");
  }
  *program = BERTH_TRY(findProgram(p));
  return okStatus();
}

Status joinNamespace(const Namespace& ns) {
  int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errnoError(
        std::string("open ") + namespaceName(ns.type) + " namespace " + quote(ns.path), errno);
  int r = ::setns(fd, namespaceCloneFlag(ns.type));
  int err = errno;
  ::close(fd);
  if (r != 0)
    return errnoError(
        std::string("join ") + namespaceName(ns.type) + " namespace " + quote(ns.path), err);
  return okStatus();
}

Status initContainer(InitArgs& a) {
  const Spec& spec = *a.spec;
  BERTH_RETURN_IF_ERROR(expectMsg(a.launch.sync_fd, msg::kGo));
  if (a.join_user_first) {
    BERTH_RETURN_IF_ERROR(joinNamespace(*spec.linux.findNamespace(NamespaceType::kUser)));
  }
  if (a.launch.in_user_namespace) {
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
      return errnoError("become root in the user namespace (check uidMappings/gidMappings map 0)",
                        errno);
  }
  int unshare_flags = 0;
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == NamespaceType::kUser || ns.type == NamespaceType::kPid) continue;
    if (!ns.path.empty()) {
      BERTH_RETURN_IF_ERROR(joinNamespace(ns));
    } else if (a.join_user_first) {
      unshare_flags |= namespaceCloneFlag(ns.type);
    }
  }
  if (unshare_flags && ::unshare(unshare_flags) != 0) return errnoError("create namespaces", errno);

  bool own_mounts = spec.linux.hasNamespace(NamespaceType::kMount);
  if (own_mounts) {
    auto s = prepareRootfs(a.rootfs);
    if (!s) return s.error().context("prepare root " + quote(spec.root_path));
  }
  BERTH_RETURN_IF_ERROR(sendMsg(a.launch.sync_fd, msg::kHooks));
  BERTH_RETURN_IF_ERROR(expectMsg(a.launch.sync_fd, msg::kHooksDone));
  BERTH_RETURN_IF_ERROR(runHooks(spec.hooks.create_container, "createContainer", a.state_json));
  if (own_mounts) {
    BERTH_RETURN_IF_ERROR(sys::pivotRoot(spec.root_path));
  } else {
    if (::chroot(spec.root_path.c_str()) != 0)
      return errnoError("chroot " + quote(spec.root_path), errno);
    if (::chdir("/") != 0) return errnoError("chdir '/'", errno);
  }
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    return errnoError("set hostname " + quote(spec.hostname), errno);
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
    return errnoError("set domain name " + quote(spec.domainname), errno);
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    auto s = sys::writeFile(path, value);
    if (!s) return s.error().context("linux.sysctl." + key);
  }
  if (own_mounts) BERTH_RETURN_IF_ERROR(finishRootfs(spec));
  return okStatus();
}

}  // namespace

Status sendMsg(int fd, char type, const std::string& payload) {
  std::string m(1, type);
  m += payload;
  if (::send(fd, m.data(), m.size(), MSG_NOSIGNAL) < 0)
    return errnoError("sync with container", errno);
  return okStatus();
}

Result<std::pair<char, std::string>> recvMsg(int fd) {
  char buf[8192];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errnoError("sync with container", errno);
  if (n == 0) return internalError("the container process exited before it was ready");
  return std::make_pair(buf[0], std::string(buf + 1, static_cast<size_t>(n - 1)));
}

Status expectMsg(int fd, char want) {
  auto m = BERTH_TRY(recvMsg(fd));
  while (m.first == msg::kWarning) {
    log::warn(m.second);
    m = BERTH_TRY(recvMsg(fd));
  }
  if (m.first == msg::kError) return internalError(m.second);
  if (m.first != want)
    return internalError(std::string("sync with container: unexpected message '") + m.first + "'");
  return okStatus();
}

void failChild(int sync_fd, const Error& error) {
  (void)sendMsg(sync_fd, msg::kError, error.message());
  _exit(1);
}

void becomeProcess(const ProcessLaunch& launch, int fifo_fd, const std::vector<Hook>* start_hooks,
                   const std::string& state_json) {
  std::string program;
  std::vector<std::string> warnings;
  auto s = prepareProcess(launch, &program, &warnings);
  if (!s) failChild(launch.sync_fd, s.error());
  for (const auto& w : warnings) (void)sendMsg(launch.sync_fd, msg::kWarning, w);
  (void)sendMsg(launch.sync_fd, msg::kReady);
  ::close(launch.sync_fd);
  if (fifo_fd >= 0) {
    // Blocks until `start` opens the fifo for reading.
    std::string path = "/proc/self/fd/" + std::to_string(fifo_fd);
    int w = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (w < 0 || ::write(w, "0", 1) != 1) {
      std::fprintf(stderr, "berth-runtime: wait for start: %s\n", std::strerror(errno));
      _exit(1);
    }
    ::close(w);
    ::close(fifo_fd);
  }
  if (start_hooks && !start_hooks->empty()) {
    auto h = runHooks(*start_hooks, "startContainer", state_json);
    if (!h) {
      std::fprintf(stderr, "berth-runtime: %s\n", h.error().message().c_str());
      _exit(1);
    }
  }
  if (auto c = sys::cloexecFrom(launch.preserve_fds); !c) {
    std::fprintf(stderr, "berth-runtime: %s\n", c.error().message().c_str());
    _exit(1);
  }
  const Process& p = *launch.process;
  std::vector<char*> argv, envp;
  for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(program.c_str(), argv.data(), envp.data());
  std::fprintf(stderr, "berth-runtime: exec %s: %s\n", program.c_str(), std::strerror(errno));
  _exit(127);
}

void runContainerInit(InitArgs& args) {
  auto closed = sys::closeInheritedFds(args.launch.preserve_fds,
                                       {args.launch.sync_fd, args.fifo_fd, args.launch.console_fd});
  if (!closed) failChild(args.launch.sync_fd, closed.error());
  auto s = initContainer(args);
  if (!s) failChild(args.launch.sync_fd, s.error());
  becomeProcess(args.launch, args.fifo_fd, &args.spec->hooks.start_container, args.state_json);
}

}  // namespace berth::runtime
