// Exec: a process in a running container, started through the runtime's `exec`, with its
// stdio bridged to a socket that speaks the monitor's frame protocol (protocol.h), so the
// API layer treats attach and exec alike. Exec sessions belong to this berthd process:
// unlike containers, they do not outlive it.

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/log.h"
#include "common/strings.h"
#include "engine/cgroup_warmup.h"
#include "engine/container_spec.h"
#include "engine/entry.h"
#include "engine/monitor_client.h"
#include "monitor/protocol.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/socket.h"

extern char** environ;

namespace berth::engine {

namespace {

struct Pipe {
  sys::Fd r, w;
};
Result<Pipe> makePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  return Pipe{sys::Fd(p[0]), sys::Fd(p[1])};
}

bool writeAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Copies between the process's stdio and `conn` (frames) until its output ends, then
// sends the exit frame. Runs on its own thread.
void pump(sys::Fd conn, sys::Fd out, sys::Fd err, sys::Fd in, bool tty, pid_t child,
          std::function<void(int)> on_exit) {
  std::string inbuf;
  bool conn_open = conn.valid();
  for (;;) {
    pollfd p[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_conn = -1;
    if (out.valid()) {
      p[n] = {out.get(), POLLIN, 0};
      idx_out = n++;
    }
    if (err.valid()) {
      p[n] = {err.get(), POLLIN, 0};
      idx_err = n++;
    }
    if (conn_open) {
      p[n] = {conn.get(), POLLIN, 0};
      idx_conn = n++;
    }
    if (!out.valid() && !err.valid()) break;
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[32768];
    auto drain = [&](int idx, sys::Fd& fd, uint8_t stream) {
      if (idx < 0 || !(p[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r <= 0) {
        fd.reset();
        return;
      }
      if (conn_open && !writeFrame(conn.get(), stream, std::string_view(buf, r))) conn_open = false;
    };
    drain(idx_out, out, monitor::kStdout);
    drain(idx_err, err, monitor::kStderr);
    if (idx_conn >= 0 && (p[idx_conn].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(conn.get(), buf, sizeof buf);
      if (r <= 0) {
        conn_open = false;
        if (!tty) in.reset();
      } else {
        inbuf.append(buf, static_cast<size_t>(r));
        while (auto f = takeFrame(inbuf)) {
          if (f->type == monitor::kStdin && in.valid()) {
            writeAll(in.get(), f->payload.data(), f->payload.size());
          } else if (f->type == monitor::kCloseStdin) {
            if (tty && in.valid())
              writeAll(in.get(), "\x04", 1);
            else
              in.reset();
          } else if (auto size = sizeIn(*f); size && tty && out.valid()) {
            winsize ws{};
            ws.ws_row = static_cast<unsigned short>(size->first);
            ws.ws_col = static_cast<unsigned short>(size->second);
            ::ioctl(out.get(), TIOCSWINSZ, &ws);
          }
        }
      }
    }
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int code = sys::exitCodeOf(status);
  on_exit(code);
  if (conn_open) (void)writeFrame(conn.get(), monitor::kExit, exitPayload(code));
}

}  // namespace

Result<std::string> Engine::execCreate(const std::string& ref, const ExecConfig& config) {
  if (config.cmd.empty()) return invalidArgument("exec: no command given");
  auto e = BERTH_TRY(find(ref));
  auto x = std::make_shared<Exec>();
  {
    std::lock_guard lock(e->mu);
    if (e->c.state.status != RunState::kRunning)
      return conflict("container " + quote(e->c.name) + " is not running");
    x->container_id = e->c.id;
  }
  x->id = newHexId();
  x->config = config;
  std::lock_guard lock(mu_);
  execs_[x->id] = x;
  return x->id;
}

Result<sys::Fd> Engine::execStart(const std::string& exec_id, bool detach) {
  warmup_->kick();  // the runtime's exec joins the container's cgroups
  std::shared_ptr<Exec> x;
  {
    std::lock_guard lock(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return notFound("no such exec instance: " + quote(exec_id));
    x = it->second;
    if (x->started) return conflict("exec " + quote(exec_id) + " has already been started");
    x->started = true;
  }
  auto e = BERTH_TRY(find(x->container_id));
  auto rs = runtimeStore(opts_);
  std::string rootfs;
  {
    std::lock_guard lock(e->mu);
    if (e->c.state.status != RunState::kRunning)
      return conflict("container " + quote(e->c.name) + " is not running");
    rootfs = dirOf(e->c.id) + "/rootfs";
  }
  // The container's own process (as created) with the exec's changes.
  auto config_text = BERTH_TRY(sys::readFile(rs.configPath(x->container_id)));
  auto config = nlohmann::json::parse(config_text, nullptr, false);
  if (!config.is_object() || !config.contains("process"))
    return internalError("exec: the runtime's copy of the container's config is unreadable");
  nlohmann::json proc = config["process"];
  proc["args"] = x->config.cmd;
  std::vector<std::string> env = proc.value("env", std::vector<std::string>{});
  for (const auto& kv : x->config.env) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(env, [&](const std::string& v) { return v.substr(0, v.find('=')) == key; });
    env.push_back(kv);
  }
  proc["env"] = env;
  if (!x->config.workdir.empty()) proc["cwd"] = x->config.workdir;
  if (!x->config.user.empty()) {
    auto [uid, gid] = BERTH_TRY(resolveUser(x->config.user, rootfsReader(rootfs)));
    proc["user"] = {{"uid", uid}, {"gid", gid}};
  }
  proc["terminal"] = x->config.tty;
  x->dir = opts_.exec_root + "/exec/" + x->id;
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(x->dir, 0700));
  std::string process_file = x->dir + "/process.json";
  // Read once by the runtime right below; the exec root is volatile: no flush.
  BERTH_RETURN_IF_ERROR(sys::replaceFile(process_file, proc.dump()));

  std::vector<std::string> args = {opts_.runtime, "--root",    rs.root(),
                                   "exec",        "--process", process_file};
  sys::Fd console_listener;
  std::string console_path = x->dir + "/console.sock";
  if (x->config.tty) {
    console_listener = sys::Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (console_path.size() >= sizeof addr.sun_path)
      return invalidArgument("exec: path " + quote(console_path) + " is too long for a socket");
    std::strcpy(addr.sun_path, console_path.c_str());
    if (::bind(console_listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(console_listener.get(), 1) != 0)
      return errnoError("exec: listen on " + quote(console_path), errno);
    args.insert(args.end(), {"--tty", "--console-socket", console_path});
  }
  if (detach) args.push_back("--detach");
  args.push_back(x->container_id);

  Pipe in = BERTH_TRY(makePipe()), out = BERTH_TRY(makePipe()), err = BERTH_TRY(makePipe());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (detach || x->config.tty) {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err.w.get(), 2);  // the runtime's own errors
  } else {
    posix_spawn_file_actions_adddup2(&fa, in.r.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out.w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err.w.get(), 2);
  }
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  int rc = ::posix_spawn(&child, opts_.runtime.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return errnoError("exec: start " + quote(opts_.runtime), rc);
  in.r.reset();
  out.w.reset();
  err.w.reset();

  auto on_exit = [this, x](int code) {
    std::lock_guard lock(mu_);
    x->exit_code = code;
    x->tty.reset();
    (void)sys::removeAll(x->dir);
    notifyChanged();
  };
  if (detach) {
    // The runtime returns once the process runs; its exit code is not ours to know then.
    std::thread([child, on_exit, errfd = std::move(err.r)]() mutable {
      int status = 0;
      while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      on_exit(sys::exitCodeOf(status));
    }).detach();
    return sys::Fd();
  }
  if (x->config.tty) {
    pollfd p{console_listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      char buf[4096];
      ssize_t n = ::read(err.r.get(), buf, sizeof buf);
      return internalError("exec: the runtime sent no terminal" +
                           (n > 0 ? ": " + std::string(trim(std::string(buf, n))) : ""));
    }
    sys::Fd conn(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    auto master = sys::recvFd(conn.get());
    if (!master) return master.error().context("exec: receive the terminal");
    int dup_in = ::fcntl(*master, F_DUPFD_CLOEXEC, 3);
    {
      std::lock_guard lock(mu_);
      x->tty = std::make_shared<sys::Fd>(::fcntl(*master, F_DUPFD_CLOEXEC, 3));
    }
    out.r = sys::Fd(*master);
    in.w = sys::Fd(dup_in);
    // The runtime's errors still arrive on err.r; with a tty all output is the master's.
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
    return errnoError("exec: socketpair", errno);
  {
    std::lock_guard lock(mu_);
    x->pid = child;
  }
  std::thread(pump, sys::Fd(sp[1]), std::move(out.r), std::move(err.r), std::move(in.w),
              x->config.tty, child, on_exit)
      .detach();
  return sys::Fd(sp[0]);
}

Status Engine::execResize(const std::string& exec_id, int rows, int cols) {
  std::lock_guard lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return notFound("no such exec instance: " + quote(exec_id));
  if (!it->second->tty || it->second->exit_code) return okStatus();
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(it->second->tty->get(), TIOCSWINSZ, &ws) != 0)
    return errnoError("resize exec " + quote(exec_id), errno);
  return okStatus();
}

Result<nlohmann::json> Engine::execInspect(const std::string& exec_id) {
  std::lock_guard lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return notFound("no such exec instance: " + quote(exec_id));
  const Exec& x = *it->second;
  return nlohmann::json{
      {"id", x.id},
      {"container_id", x.container_id},
      {"tty", x.config.tty},
      {"running", x.started && !x.exit_code},
      {"exit_code", x.exit_code ? nlohmann::json(*x.exit_code) : nlohmann::json()},
      {"pid", x.pid}};
}

}  // namespace berth::engine
