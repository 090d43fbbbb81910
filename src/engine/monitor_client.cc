#include "engine/monitor_client.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "engine/monitor_pool.h"
#include "monitor/protocol.h"
#include "sys/fs.h"
#include "sys/process.h"

extern char** environ;

namespace berth::engine {

namespace {

// The last error the runtime wrote to its JSON log, or a fallback.
std::string runtimeError(const std::string& dir, const std::string& fallback) {
  auto text = sys::readFile(dir + "/" + monitor::kRuntimeLog);
  std::string msg;
  if (text) {
    for (const auto& line : split(*text, '\n')) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("level", "") == "error") msg = j.value("msg", "");
    }
  }
  return msg.empty() ? fallback : msg;
}

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

Result<pid_t> spawnMonitor(std::vector<std::string> args, int sync_fd) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, sync_fd, 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return errnoError("start monitor " + quote(args[0]), err);
  return pid;
}

Result<MonitorStarted> launchMonitor(const MonitorLaunch& l, MonitorPool* pool) {
  std::vector<std::string> args = {"--id",           l.id,          "--bundle",  l.dir,
                                   "--dir",          l.dir,         "--runtime", l.runtime,
                                   "--runtime-root", l.runtime_root};
  if (l.tty) args.push_back("--tty");
  if (l.open_stdin) args.push_back("--stdin");
  if (l.log.max_size > 0) {
    args.insert(args.end(), {"--log-max-size", std::to_string(l.log.max_size), "--log-max-files",
                             std::to_string(l.log.max_files)});
  }
  sys::Fd rd;
  pid_t pid = 0;
  if (auto pooled = pool ? pool->take() : std::nullopt) {
    std::string assignment;
    for (const auto& a : args) assignment.append(a).push_back('\0');
    if (::send(pooled->sock.get(), assignment.data(), assignment.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(assignment.size())) {
      pid = pooled->pid;
      rd = std::move(pooled->sock);
    } else {  // it died meanwhile: reap it and spawn one
      while (::waitpid(pooled->pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (!rd.valid()) {
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) return errnoError("create sync pipe", errno);
    rd = sys::Fd(sync[0]);
    sys::Fd wr(sync[1]);
    args.insert(args.begin(), l.monitor);
    args.insert(args.end(), {"--sync-fd", "3"});
    pid = BERTH_TRY(spawnMonitor(std::move(args), wr.get()));
  }

  std::string line;
  char buf[128];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  MonitorStarted out;
  auto fields = split(trim(line), ' ');
  if (fields.size() == 3 && fields[0] == "P") {
    out.monitor_pid = static_cast<pid_t>(parseInt(fields[1]).value_or(0));
    out.init_pid = static_cast<pid_t>(parseInt(fields[2]).value_or(0));
    if (auto st = sys::procStat(out.monitor_pid)) out.monitor_start = st->start_time;
    return out;
  }
  // The monitor failed and exits (or has exited): reap it.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (fields.size() == 2 && fields[0] == "E")
    return internalError(
        runtimeError(l.dir, "the runtime's create failed with status " + fields[1]));
  return internalError("monitor for container " + quote(l.id) + " exited before the container " +
                       "was created (status " + std::to_string(sys::exitCodeOf(status)) + ")");
}

Result<sys::Fd> connectMonitor(const std::string& dir) {
  sys::Fd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return errnoError("open " + quote(dir), errno);
  std::string path = "/proc/self/fd/" + std::to_string(dfd.get()) + "/" + monitor::kSocket;
  sys::Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errnoError("socket", errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errnoError("connect to the monitor of " + quote(dir), errno);
  return s;
}

namespace {

void putBigEndian(std::string& out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t bigEndian(std::string_view s) {
  uint32_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

}  // namespace

std::string encodeFrame(uint8_t type, std::string_view payload) {
  std::string frame{static_cast<char>(type), 0, 0, 0};
  putBigEndian(frame, static_cast<uint32_t>(payload.size()), 4);
  frame.append(payload);
  return frame;
}

std::optional<Frame> takeFrame(std::string& buf) {
  if (buf.size() < monitor::kFrameHeader) return std::nullopt;
  size_t size = bigEndian(std::string_view(buf).substr(4, 4));
  if (buf.size() < monitor::kFrameHeader + size) return std::nullopt;
  Frame f{static_cast<uint8_t>(buf[0]), buf.substr(monitor::kFrameHeader, size)};
  buf.erase(0, monitor::kFrameHeader + size);
  return f;
}

Status writeFrame(int fd, uint8_t type, std::string_view payload) {
  std::string frame = encodeFrame(type, payload);
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t w = ::send(fd, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errnoError("write frame", errno);
    off += static_cast<size_t>(w);
  }
  return okStatus();
}

std::string exitPayload(int code) {
  std::string out;
  putBigEndian(out, static_cast<uint32_t>(code), 4);
  return out;
}

std::optional<int> exitCodeIn(const Frame& f) {
  if (f.type != monitor::kExit || f.payload.size() != 4) return std::nullopt;
  return static_cast<int>(bigEndian(f.payload));
}

std::string resizePayload(int rows, int cols) {
  std::string out;
  putBigEndian(out, static_cast<uint32_t>(rows), 2);
  putBigEndian(out, static_cast<uint32_t>(cols), 2);
  return out;
}

std::optional<std::pair<int, int>> sizeIn(const Frame& f) {
  if (f.type != monitor::kResize || f.payload.size() != 4) return std::nullopt;
  std::string_view p = f.payload;
  return std::make_pair(static_cast<int>(bigEndian(p.substr(0, 2))),
                        static_cast<int>(bigEndian(p.substr(2, 2))));
}

std::optional<MonitorExit> readExitFile(const std::string& dir) {
  auto text = sys::readFile(dir + "/" + monitor::kExitFile);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return MonitorExit{j.value("exit_code", 255), j.value("signal", 0),
                     j.value("finished_ns", int64_t{0})};
}

bool processMatches(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  auto st = sys::procStat(pid);
  return st && st->state != 'Z' && st->start_time == start_time;
}

ExitWatcher::ExitWatcher(Callback cb)
    : cb_(std::move(cb)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { loop(); });
}

ExitWatcher::~ExitWatcher() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

Status ExitWatcher::watch(const std::string& id, pid_t pid) {
  sys::Fd pidfd(pidfdOpen(pid));
  if (!pidfd.valid()) {
    if (errno == ESRCH) {
      cb_(id);
      return okStatus();
    }
    return errnoError("watch monitor " + std::to_string(pid), errno);
  }
  std::lock_guard lock(mu_);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = pidfd.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd.get(), &ev) != 0)
    return errnoError("watch monitor " + std::to_string(pid), errno);
  int key = pidfd.get();
  watched_[key] = {id, std::move(pidfd)};
  return okStatus();
}

void ExitWatcher::loop() {
  for (;;) {
    epoll_event evs[32];
    int n = ::epoll_wait(epoll_.get(), evs, 32, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log::error(std::string("exit watcher: epoll_wait: ") + std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == wake_.get()) return;
      std::string id;
      {
        std::lock_guard lock(mu_);
        auto it = watched_.find(fd);
        if (it == watched_.end()) continue;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        siginfo_t info{};
        // Reaps the monitor when it is our child; harmless (ECHILD) when it is not.
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &info, WEXITED | WNOHANG);
        id = it->second.first;
        watched_.erase(it);
      }
      cb_(id);
    }
  }
}

}  // namespace berth::engine
