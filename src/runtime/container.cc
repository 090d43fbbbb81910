#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/strings.h"
#include "runtime/cgroup/manager.h"
#include "runtime/hooks.h"
#include "runtime/terminal.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {
namespace {

bool alive(const ContainerState& st) {
  auto ps = sys::procStat(st.pid);
  return ps && ps->start_time == st.pid_start_time && ps->state != 'Z' && ps->state != 'X';
}

// Waits up to `ms` for the container's init to be gone.
bool waitGone(const ContainerState& st, int ms) {
  for (int waited = 0; waited < ms; waited += 5) {
    if (!alive(st)) return true;
    ::poll(nullptr, 0, 5);
  }
  return !alive(st);
}

Status killCgroup(cgroup::Manager& cg) {
  for (int round = 0; round < 200; ++round) {
    auto pids = BERTH_TRY(cg.pids());
    if (pids.empty()) return okStatus();
    for (pid_t p : pids) ::kill(p, SIGKILL);
    ::poll(nullptr, 0, 5);
  }
  return Error(ErrorCode::kUnavailable, "processes of cgroup " + quote(cg.path()) + " do not exit");
}

void runPoststop(const StateStore& store, const ContainerState& st) {
  auto text = sys::readFile(store.configPath(st.id));
  if (!text) return;
  auto spec = parseSpec(*text, st.bundle);
  if (!spec || spec->hooks.poststop.empty()) return;
  auto s = runHooks(spec->hooks.poststop, "poststop", stateJson(st, ContainerStatus::kStopped));
  if (!s) log::warn(s.error().message());
}

}  // namespace

bool oomKilled(const ContainerState& st) {
  auto cg = cgroup::openHostManager(st.cgroup_path);
  if (!cg) return false;
  auto r = (*cg)->oomKilled();
  return r && *r;
}

Result<ContainerState> create(const StateStore& store, const CreateOptions& opts) {
  auto created = BERTH_TRY(createContainer(store, opts));
  return created.state;
}

Status start(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  ContainerStatus status = currentStatus(st, store);
  if (status != ContainerStatus::kCreated)
    return conflict("start container " + quote(id) + ": it is " + statusName(status) +
                    ", not created");
  std::string fifo = store.fifoPath(id);
  int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errnoError("start container " + quote(id) + ": open " + quote(fifo), errno);
  bool started = false;
  while (!started) {
    struct pollfd p {
      fd, POLLIN, 0
    };
    int r = ::poll(&p, 1, 50);
    if (r > 0 && (p.revents & POLLIN)) {
      char c;
      started = ::read(fd, &c, 1) == 1;
      if (started) break;
    }
    if (!alive(st)) {
      ::close(fd);
      return internalError("start container " + quote(id) + ": its process exited before start");
    }
  }
  ::close(fd);
  ::unlink(fifo.c_str());
  auto text = sys::readFile(store.configPath(id));
  if (text) {
    auto spec = parseSpec(*text, st.bundle);
    if (spec && !spec->hooks.poststart.empty()) {
      auto s =
          runHooks(spec->hooks.poststart, "poststart", stateJson(st, ContainerStatus::kRunning));
      if (!s) log::warn(s.error().message());
    }
  }
  return okStatus();
}

Result<std::string> state(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  return stateJson(st, currentStatus(st, store));
}

Status kill(const StateStore& store, const std::string& id, int signal, bool all) {
  ContainerState st = BERTH_TRY(store.load(id));
  ContainerStatus status = currentStatus(st, store);
  if (all) {
    auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));
    auto pids = BERTH_TRY(cg->pids());
    for (pid_t p : pids) ::kill(p, signal);
    if (status == ContainerStatus::kPaused) (void)cg->freeze(false);
    return okStatus();
  }
  if (status == ContainerStatus::kStopped)
    return conflict("kill container " + quote(id) + ": container is not running");
  if (::kill(st.pid, signal) != 0) return errnoError("kill container " + quote(id), errno);
  return okStatus();
}

Status remove(const StateStore& store, const std::string& id, bool force) {
  auto loaded = store.load(id);
  if (!loaded) {
    if (force && loaded.error().code() == ErrorCode::kNotFound) return okStatus();
    return loaded.error();
  }
  ContainerState st = *loaded;
  ContainerStatus status = currentStatus(st, store);
  if (status == ContainerStatus::kRunning || status == ContainerStatus::kPaused) {
    if (!force)
      return conflict("delete container " + quote(id) + ": it is " + statusName(status) +
                      "; stop it first or use --force");
  }
  auto cg = cgroup::openHostManager(st.cgroup_path);
  if (status != ContainerStatus::kStopped) {
    ::kill(st.pid, SIGKILL);
    if (status == ContainerStatus::kPaused && cg) (void)(*cg)->freeze(false);
    if (!waitGone(st, 10000))
      return Error(ErrorCode::kUnavailable,
                   "delete container " + quote(id) + ": its process does not exit");
  }
  if (cg) {
    BERTH_RETURN_IF_ERROR(killCgroup(**cg));
    if (auto s = (*cg)->destroy(); !s) return s.error().context("delete container " + quote(id));
  }
  runPoststop(store, st);
  return store.remove(id);
}

Status pause(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  ContainerStatus status = currentStatus(st, store);
  if (status != ContainerStatus::kRunning)
    return conflict("pause container " + quote(id) + ": it is " + statusName(status) +
                    ", not running");
  auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));
  BERTH_RETURN_IF_ERROR(cg->freeze(true));
  st.paused = true;
  return store.save(st);
}

Status resume(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  ContainerStatus status = currentStatus(st, store);
  if (status != ContainerStatus::kPaused)
    return conflict("resume container " + quote(id) + ": it is " + statusName(status) +
                    ", not paused");
  auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));
  BERTH_RETURN_IF_ERROR(cg->freeze(false));
  st.paused = false;
  return store.save(st);
}

Status update(const StateStore& store, const std::string& id, const Resources& resources) {
  ContainerState st = BERTH_TRY(store.load(id));
  ContainerStatus status = currentStatus(st, store);
  if (status == ContainerStatus::kStopped)
    return conflict("update container " + quote(id) + ": it is stopped");
  auto text = BERTH_TRY(sys::readFile(store.configPath(id)));
  Spec spec = BERTH_TRY(parseSpec(text, st.bundle));
  auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));
  Resources r =
      resources.devices.empty() ? resources : withDefaultDeviceRules(resources, spec.linux.devices);
  std::vector<std::string> warnings;
  auto s = cg->apply(r, &warnings);
  for (const auto& w : warnings) log::warn(w);
  if (!s) return s.error().context("update container " + quote(id));
  return okStatus();
}

Result<std::vector<pid_t>> processes(const StateStore& store, const std::string& id) {
  ContainerState st = BERTH_TRY(store.load(id));
  auto cg = BERTH_TRY(cgroup::openHostManager(st.cgroup_path));
  return cg->pids();
}

Result<int> run(const StateStore& store, const RunOptions& opts) {
  CreateOptions copts = opts.create;
  copts.wait_for_start = opts.detach;  // detached: create, then start like runc does
  int term_sock[2] = {-1, -1};
  Spec peek = BERTH_TRY(loadSpec(copts.bundle));
  bool proxy_terminal = peek.process.terminal && copts.console_socket.empty() && !opts.detach;
  if (proxy_terminal) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, term_sock) != 0)
      return errnoError("create terminal socket", errno);
    copts.console_fd = term_sock[1];
  }
  auto created = createContainer(store, copts);
  if (term_sock[1] >= 0) ::close(term_sock[1]);
  if (!created) {
    if (term_sock[0] >= 0) ::close(term_sock[0]);
    return created.error();
  }
  ContainerState st = created->state;
  if (opts.detach) {
    BERTH_RETURN_IF_ERROR(start(store, st.id));
    return 0;
  }
  if (!created->spec.hooks.poststart.empty()) {
    auto s = runHooks(created->spec.hooks.poststart, "poststart",
                      stateJson(st, ContainerStatus::kRunning));
    if (!s) log::warn(s.error().message());
  }
  forwardSignalsTo(st.pid);
  if (proxy_terminal) {
    auto master = sys::recvFd(term_sock[0]);
    ::close(term_sock[0]);
    if (master) {
      proxyTerminal(*master);
      ::close(*master);
    }
  }
  int code = sys::exitCodeOf(BERTH_TRY(sys::waitChild(st.pid)));
  forwardSignalsTo(0);
  if (oomKilled(st))
    log::error("container " + quote(st.id) +
               " was killed by the OOM killer: its memory limit was reached");
  if (!opts.keep) {
    if (auto s = remove(store, st.id, true); !s) log::warn(s.error().message());
  }
  return code;
}

}  // namespace berth::runtime
