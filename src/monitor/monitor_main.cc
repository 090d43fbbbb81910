// berth-monitor: holds one container's stdio, log and exit status (contract: protocol.h).
//
// Life of a monitor:
//   setup      own session, child subreaper, SIGCHLD through a signalfd, monitor.sock
//              listening, the stdio pipes (or console.sock with --tty), container.log open
//   creating   the runtime's `create` runs with the pipes as its 0/1/2; on its exit the
//              init pid is read and "P …" (or "E …") goes to the sync descriptor
//   running    output → container.log and attached clients; client frames → stdin/pty
//   draining   the init has exited: output is read until EOF, at most kDrainMs
//   closing    exit file written, monitor.sock removed, exit frames sent; clients get at
//              most kCloseMs to take what is queued for them; then the monitor exits 0
// Everything runs on one epoll loop; no allocation after setup apart from the per-client
// output queues (anonymous mappings, returned when empty).

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

#include "monitor/clients.h"
#include "monitor/io.h"
#include "monitor/json_log.h"
#include "monitor/options.h"
#include "monitor/protocol.h"
#include "monitor/spawn.h"
#include "monitor/text.h"

namespace berth::monitor {
namespace {

constexpr int64_t kDrainMs = 2000;
constexpr int64_t kCloseMs = 1000;
constexpr size_t kStdinBuffer = 4096;
constexpr const char* kExitTmp = "exit.tmp";

// epoll tags.
enum : uint64_t {
  kTagSignal = 1,
  kTagListen,
  kTagConsoleListen,
  kTagConsoleConn,
  kTagStdout,  // the stdout pipe, or the pty master with --tty
  kTagStderr,
  kTagStdin,  // the stdin pipe while it has data waiting
  kTagClient = 64,
};

enum class Phase { kCreating, kRunning, kDraining, kClosing };

// Static and page-aligned: a page costs memory only once output has touched it.
alignas(4096) char g_stdout_buf[kMaxLogLine];
alignas(4096) char g_stderr_buf[kMaxLogLine];
alignas(4096) char g_stdin_buf[kStdinBuffer];
constinit LineSplitter g_stdout(kStdout, g_stdout_buf);
constinit LineSplitter g_stderr(kStderr, g_stderr_buf);
LogFile g_log;
// A pooled monitor's assignment: the options point into it for the monitor's life.
char g_assignment[8192];

class Monitor final : public AttachSink {
 public:
  explicit Monitor(const Options& o) : opts_(o) {}
  int run(char** argv);

  // AttachSink.
  size_t stdinRoom() const override;
  void stdinData(const char* data, size_t len) override;
  void closeStdin() override;
  void resize(uint16_t rows, uint16_t cols) override;

 private:
  void setupProcess();
  bool setup();
  bool awaitAssignment(char** argv);
  void startPooledRuntime();
  bool sendPooledRequest();
  bool listenUnix(const char* name, int* fd);
  bool addFd(int fd, uint32_t events, uint64_t tag);
  bool spawnCreate();
  int64_t timeoutMs() const;
  void dispatch(uint64_t tag, uint32_t events);
  void reap();
  void onCreateExited(int status);
  void onInitExited(int status);
  void pollConsole();
  void onOutput(uint64_t tag);
  void closeOutput(uint64_t tag);
  bool outputsOpen() const { return out_fd_ >= 0 || err_fd_ >= 0; }
  void flushStdin();
  void updateStdinEvents();
  void finishStdinClose();
  void startClosing();
  void writeExitFile();
  void writeSync(const char* line, size_t len);
  void trimIfIdle();
  void removeSockets();
  [[noreturn]] void failCreate(int status);
  // Records a failure of the monitor itself (not of the runtime) in runtime.log and on
  // stderr; what is "operation 'name'", err an errno value or 0.
  void logError(const char* what, int err);

  Options opts_;
  bool in_dir_ = false;  // the working directory is the container directory
  Phase phase_ = Phase::kCreating;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  int listen_fd_ = -1;
  int console_listen_fd_ = -1;
  int console_conn_fd_ = -1;
  int out_fd_ = -1;  // stdout pipe, or the pty master
  int err_fd_ = -1;
  int stdin_fd_ = -1;  // stdin pipe write end, or the pty master (then == out_fd_)
  int child_stdio_[3] = {-1, -1, -1};
  bool stdin_closed_ = false;
  bool stdin_close_pending_ = false;
  bool stdin_registered_ = false;
  size_t stdin_len_ = 0;
  uint16_t rows_ = 0, cols_ = 0;  // last resize, applied when the pty arrives
  pid_t create_pid_ = -1;
  pid_t init_pid_ = -1;
  pid_t pooled_pid_ = -1;  // a runtime loaded ahead, waiting on pooled_sock_ for its request
  int pooled_sock_ = -1;
  // Children reaped before the init pid was known (the init may die before `create`'s
  // exit has been seen): pid, status.
  pid_t early_pid_[8] = {};
  int early_status_[8] = {};
  int early_count_ = 0;
  int exit_code_ = 0;
  int exit_signal_ = 0;
  int64_t finished_ns_ = 0;
  int64_t deadline_ms_ = 0;
  ClientSet* clients_ = nullptr;
};

int Monitor::run(char** argv) {
  setupProcess();
  if (opts_.pool && !awaitAssignment(argv)) return opts_.id ? 0 : 2;
  if (!setup()) {
    writeSync("E -1\n", 5);
    removeSockets();
    return 1;
  }
  ClientSet clients(epoll_fd_, kTagClient);
  clients_ = &clients;
  if (!spawnCreate()) {
    writeSync("E -1\n", 5);
    removeSockets();
    return 1;
  }
  struct epoll_event events[16];
  while (true) {
    trimIfIdle();
    int n = ::epoll_wait(epoll_fd_, events, 16, static_cast<int>(timeoutMs()));
    if (n < 0) {
      if (errno != EINTR) {  // only a bug gets here: nothing sensible left to do
        logError("wait for events", errno);
        return 1;
      }
      n = 0;
    }
    for (int i = 0; i < n; ++i) dispatch(events[i].data.u64, events[i].events);
    clients.pauseInput(stdinRoom() == 0);
    int64_t now = monotonicMs();
    if (phase_ == Phase::kDraining && (!outputsOpen() || now >= deadline_ms_)) startClosing();
    if (phase_ == Phase::kClosing && (!clients.anyQueued() || now >= deadline_ms_)) break;
  }
  clients.closeAll();
  clients_ = nullptr;
  return 0;
}

void Monitor::setupProcess() {
  // Descriptors berthd did not mean to pass must not reach the runtime or the container.
  if (opts_.sync_fd >= 0) {
    if (::fcntl(opts_.sync_fd, F_SETFD, FD_CLOEXEC) != 0) opts_.sync_fd = -1;
  }
  if (opts_.sync_fd > 3) ::close_range(3, static_cast<unsigned>(opts_.sync_fd - 1), 0);
  ::close_range(static_cast<unsigned>(opts_.sync_fd < 3 ? 3 : opts_.sync_fd + 1), ~0U, 0);

  ::setsid();  // fails only for a process-group leader, which berthd's signals miss anyway
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGHUP, SIGPIPE, SIGTERM}) ::sigaction(sig, &ign, nullptr);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
}

// Pooled (protocol.h): at idle priority, loads a runtime that waits for its request, says
// "R" and waits for a container. False when berthd closed the socket first, or sent an
// assignment that does not parse (then opts_.id is null and the reason is on stderr).
bool Monitor::awaitAssignment(char** argv) {
  struct sched_param none {};
  ::sched_setscheduler(0, SCHED_IDLE, &none);
  startPooledRuntime();
  writeAll(opts_.sync_fd, "R\n", 2);
  ssize_t n;
  while ((n = ::recv(opts_.sync_fd, g_assignment, sizeof g_assignment - 1, 0)) < 0 &&
         errno == EINTR) {
  }
  bool assigned = n > 0;
  if (assigned) {
    // NUL-separated arguments, as on the command line.
    char* args[40] = {argv[0]};
    int count = 1;
    g_assignment[n] = '\0';
    for (char* p = g_assignment; p < g_assignment + n && count < 39; p += std::strlen(p) + 1)
      args[count++] = p;
    Options o;
    char err[512];
    if (!parseOptions(count, args, &o, err, sizeof err) || o.pool) {
      TextBuf<600> line;
      line.add("berth-monitor: assignment: ").add(o.pool ? "--pool again" : err).add('\n');
      writeAll(2, line.c_str(), line.size());
      writeSync("E -1\n", 5);
      assigned = false;
      opts_.id = nullptr;
    } else {
      o.sync_fd = opts_.sync_fd;
      // `ps` shows the container's id in place of the pool's placeholder (same length).
      if (argv[1] && argv[2] && std::strcmp(argv[1], "--id") == 0 &&
          std::strlen(argv[2]) == std::strlen(o.id))
        std::memcpy(argv[2], o.id, std::strlen(o.id));
      opts_ = o;
    }
  }
  if (!assigned && pooled_pid_ > 0) {
    ::close(pooled_sock_);  // the runtime sees the end and exits
    ::waitpid(pooled_pid_, nullptr, 0);
    pooled_pid_ = -1;
  }
  ::sched_setscheduler(0, SCHED_OTHER, &none);
  return assigned;
}

void Monitor::startPooledRuntime() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return;
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int stdio[3] = {null_fd, null_fd, null_fd};
  pid_t pid = forkWithStdio(stdio);
  if (pid == 0) {
    ::dup2(sv[1], 3);
    const char* argv[] = {opts_.runtime, "--await-request", "3", nullptr};
    execOrReport(argv, "/dev/null");
  }
  ::close(sv[1]);
  if (null_fd >= 0) ::close(null_fd);
  char ready = 0;
  ssize_t n = -1;
  if (pid > 0) {
    while ((n = ::recv(sv[0], &ready, 1, 0)) < 0 && errno == EINTR) {
    }
  }
  if (n == 1 && ready == 'R') {
    pooled_pid_ = pid;
    pooled_sock_ = sv[0];
    return;
  }
  // Not loaded: the container gets a runtime started the usual way.
  ::close(sv[0]);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
}

bool Monitor::setup() {
  if (::chdir(opts_.dir) != 0) {
    int err = errno;
    TextBuf<4200> what;
    what.add("enter the container directory '").add(opts_.dir).add("'");
    logError(what.c_str(), err);
    return false;
  }
  in_dir_ = true;
  // A fresh run: the previous run's records must not be mistaken for this one's.
  ::unlink(kExitFile);
  ::unlink(kExitTmp);
  ::unlink(kInitPid);
  int rl = ::open(kRuntimeLog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (rl >= 0) ::close(rl);

  if (!g_log.open(kLog, opts_.log_max_size, opts_.log_max_files)) {
    logError("open 'container.log'", errno);
    return false;
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  sigset_t chld;  // blocked since setupProcess: what came meanwhile is read here
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  signal_fd_ = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (epoll_fd_ < 0 || signal_fd_ < 0) {
    logError("create the event loop", errno);
    return false;
  }
  if (!addFd(signal_fd_, EPOLLIN, kTagSignal)) return false;
  if (!listenUnix(kSocket, &listen_fd_) || !addFd(listen_fd_, EPOLLIN, kTagListen)) return false;

  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    logError("open '/dev/null'", errno);
    return false;
  }
  if (opts_.tty) {
    // The runtime sends the pty master here; the container's stdio is the pty slave.
    if (!listenUnix(kConsoleSocket, &console_listen_fd_) ||
        !addFd(console_listen_fd_, EPOLLIN, kTagConsoleListen)) {
      ::close(null_fd);
      return false;
    }
    child_stdio_[0] = null_fd;
    child_stdio_[1] = ::dup(null_fd);
    child_stdio_[2] = ::dup(null_fd);
    return true;
  }
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    logError("create the output pipes", errno);
    ::close(null_fd);
    return false;
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
  child_stdio_[1] = out[1];
  child_stdio_[2] = err[1];
  setNonBlocking(out_fd_, true);
  setNonBlocking(err_fd_, true);
  if (!addFd(out_fd_, EPOLLIN, kTagStdout) || !addFd(err_fd_, EPOLLIN, kTagStderr)) {
    ::close(null_fd);
    return false;
  }
  if (opts_.stdin_open) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
      logError("create the stdin pipe", errno);
      ::close(null_fd);
      return false;
    }
    child_stdio_[0] = in[0];
    stdin_fd_ = in[1];
    setNonBlocking(stdin_fd_, true);
    ::close(null_fd);
  } else {
    child_stdio_[0] = null_fd;
  }
  return true;
}

bool Monitor::listenUnix(const char* name, int* fd) {
  ::unlink(name);  // left by a monitor that was killed
  *fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, name, sizeof addr.sun_path - 1);
  // Relative to the container directory (our working directory), so that a long CDIR
  // does not run into sun_path's 108 bytes. 0600: only root attaches.
  mode_t old = ::umask(0177);
  bool ok = *fd >= 0 && ::bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::listen(*fd, 16) == 0;
  int err = errno;
  ::umask(old);
  if (!ok) {
    TextBuf<128> what;
    what.add("listen on '").add(name).add("'");
    logError(what.c_str(), err);
  }
  return ok;
}

bool Monitor::addFd(int fd, uint32_t events, uint64_t tag) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) return true;
  logError("watch a descriptor", errno);
  return false;
}

// The runtime's `create` command line: argv[0] (the runtime) and up to 15 arguments, into
// argv; the paths it needs are built in `paths` (3 × 4200 bytes).
void createArgs(const Options& o, char* paths, const char* argv[17]) {
  Text log_path(paths, 4200), pid_path(paths + 4200, 4200), console_path(paths + 8400, 4200);
  log_path.add(o.dir).add('/').add(kRuntimeLog);
  pid_path.add(o.dir).add('/').add(kInitPid);
  console_path.add(o.dir).add('/').add(kConsoleSocket);
  // The runtime runs in the container directory too: a relative console socket path is
  // the way out when the absolute one does not fit in sun_path.
  const char* console =
      console_path.size() < sizeof(sockaddr_un::sun_path) ? console_path.c_str() : kConsoleSocket;
  int n = 0;
  for (const char* a :
       {o.runtime, "--root", o.runtime_root, "--log", log_path.c_str(), "--log-format", "json",
        "create", "--bundle", o.bundle, "--pid-file", pid_path.c_str()})
    argv[n++] = a;
  if (o.tty) {
    argv[n++] = "--console-socket";
    argv[n++] = console;
  }
  argv[n++] = o.id;
  argv[n] = nullptr;
}

// In the child only (see spawn.h): builds the runtime's command line and execs it.
[[noreturn]] __attribute__((noinline)) void execCreate(const Options& o) {
  char paths[3 * 4200];
  const char* argv[17];
  createArgs(o, paths, argv);
  execOrReport(argv, kRuntimeLog);
}

// Sends the pooled runtime its request: the working directory, create's arguments and the
// container's stdio. The buffers are a mapping of their own, returned at once: the
// monitor's stack stays as small as it was.
bool Monitor::sendPooledRequest() {
  constexpr size_t kSize = 8 * 4096;
  void* mem = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  char* paths = static_cast<char*>(mem);
  Text msg(paths + 3 * 4200, kSize - 3 * 4200);
  const char* argv[17];
  createArgs(opts_, paths, argv);
  msg.add(opts_.dir).add('\0');
  for (int i = 1; argv[i]; ++i) msg.add(argv[i]).add('\0');
  bool ok = !msg.overflow();
  if (ok) {
    struct iovec iov = {const_cast<char*>(msg.c_str()), msg.size()};
    alignas(struct cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    struct msghdr m {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
    std::memcpy(CMSG_DATA(cm), child_stdio_, 3 * sizeof(int));
    ok = ::sendmsg(pooled_sock_, &m, MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size());
  }
  ::munmap(mem, kSize);
  return ok;
}

bool Monitor::spawnCreate() {
  if (pooled_pid_ > 0) {
    bool sent = sendPooledRequest();
    ::close(pooled_sock_);
    pooled_sock_ = -1;
    if (sent) {
      create_pid_ = pooled_pid_;
      for (int& fd : child_stdio_) {
        ::close(fd);
        fd = -1;
      }
      return true;
    }
    // It is gone (or the request did not fit): reaped below, as any stray child.
    pooled_pid_ = -1;
  }
  create_pid_ = forkWithStdio(child_stdio_);
  if (create_pid_ == 0) execCreate(opts_);
  int err = errno;
  for (int& fd : child_stdio_) {
    ::close(fd);
    fd = -1;
  }
  if (create_pid_ < 0) {
    logError("start the runtime", err);
    return false;
  }
  return true;
}

int64_t Monitor::timeoutMs() const {
  if (phase_ != Phase::kDraining && phase_ != Phase::kClosing) return -1;
  int64_t left = deadline_ms_ - monotonicMs();
  return left < 0 ? 0 : left;
}

void Monitor::trimIfIdle() {
  if (!g_log.needsTrim() && !g_stdout.needsTrim() && !g_stderr.needsTrim()) return;
  // Only when nothing is waiting: a busy stream keeps its pages.
  struct epoll_event ev;
  if (::epoll_wait(epoll_fd_, &ev, 1, 0) != 0) return;
  g_log.trim();
  g_stdout.trim();
  g_stderr.trim();
}

void Monitor::dispatch(uint64_t tag, uint32_t events) {
  switch (tag) {
    case kTagSignal: {
      struct signalfd_siginfo si[8];
      while (::read(signal_fd_, si, sizeof si) > 0) {
      }
      reap();
      return;
    }
    case kTagListen:
      if (listen_fd_ >= 0) clients_->acceptAll(listen_fd_);
      return;
    case kTagConsoleListen:
    case kTagConsoleConn:
      pollConsole();
      return;
    case kTagStdout:
    case kTagStderr:
      if (tag == kTagStdout && stdin_fd_ == out_fd_ && (events & EPOLLOUT)) flushStdin();
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onOutput(tag);
      return;
    case kTagStdin:
      flushStdin();
      return;
    default:
      if (tag >= kTagClient) clients_->onEvent(static_cast<int>(tag - kTagClient), events, *this);
  }
}

void Monitor::reap() {
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == create_pid_) {
      onCreateExited(status);
    } else if (init_pid_ > 0 && pid == init_pid_) {
      onInitExited(status);
    } else if (init_pid_ <= 0 && early_count_ < 8) {
      early_pid_[early_count_] = pid;
      early_status_[early_count_++] = status;
    }
    // Anything else escaped the container's pid namespace (or was the runtime's helper);
    // as the subreaper we only collect it.
  }
}

void Monitor::onCreateExited(int status) {
  create_pid_ = -1;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) failCreate(code);

  const char* problem = nullptr;
  if (opts_.tty) {
    pollConsole();  // the runtime sent the master before it exited: it is queued
    if (out_fd_ < 0) problem = "the runtime sent no terminal on 'console.sock'";
  }
  if (!problem) {
    char buf[32];
    int fd = ::open(kInitPid, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) ::close(fd);
    uint64_t pid = 0;
    if (n > 0) {
      while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) --n;
      buf[n] = '\0';
    }
    if (n <= 0 || !parseUnsigned(buf, &pid) || pid < 2 || pid > 0x3fffffff) {
      problem = "the runtime wrote no valid 'init.pid'";
    } else {
      init_pid_ = static_cast<pid_t>(pid);
    }
  }
  if (problem) {
    logError(problem, 0);
    // The runtime said it created a container we cannot watch: do not leave it behind.
    const char* argv[] = {opts_.runtime, "--root", opts_.runtime_root, "delete", "--force",
                          opts_.id,      nullptr};
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int stdio[3] = {null_fd, null_fd, null_fd};
    pid_t pid = forkWithStdio(stdio);
    if (pid == 0) execOrReport(argv, kRuntimeLog);
    if (null_fd >= 0) ::close(null_fd);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    failCreate(255);
  }
  if (console_listen_fd_ >= 0) {
    ::close(console_listen_fd_);
    console_listen_fd_ = -1;
    ::unlink(kConsoleSocket);
  }
  if (console_conn_fd_ >= 0) {
    ::close(console_conn_fd_);
    console_conn_fd_ = -1;
  }
  TextBuf<64> line;
  line.add("P ").addSigned(::getpid()).add(' ').addSigned(init_pid_).add('\n');
  writeSync(line.c_str(), line.size());
  phase_ = Phase::kRunning;
  for (int i = 0; i < early_count_; ++i) {
    if (early_pid_[i] == init_pid_) onInitExited(early_status_[i]);
  }
  early_count_ = 0;
}

void Monitor::onInitExited(int status) {
  if (phase_ == Phase::kDraining || phase_ == Phase::kClosing) return;
  finished_ns_ = realtimeNs();
  if (WIFSIGNALED(status)) {
    exit_signal_ = WTERMSIG(status);
    exit_code_ = 128 + exit_signal_;
  } else {
    exit_code_ = WEXITSTATUS(status);
  }
  phase_ = Phase::kDraining;
  deadline_ms_ = monotonicMs() + kDrainMs;
}

void Monitor::pollConsole() {
  if (console_conn_fd_ < 0 && console_listen_fd_ >= 0) {
    console_conn_fd_ =
        ::accept4(console_listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (console_conn_fd_ < 0) return;
    if (!addFd(console_conn_fd_, EPOLLIN, kTagConsoleConn)) return;
  }
  if (console_conn_fd_ < 0) return;
  char payload[256];
  struct iovec iov = {payload, sizeof payload};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(console_conn_fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  int master = -1;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len >= CMSG_LEN(sizeof(int)))
      std::memcpy(&master, CMSG_DATA(cm), sizeof(int));
  }
  // One connection, one descriptor; the next runtime connection (if any) is a new one.
  ::close(console_conn_fd_);
  console_conn_fd_ = -1;
  if (master < 0 || out_fd_ >= 0) {
    if (master >= 0) ::close(master);
    return;
  }
  out_fd_ = master;
  setNonBlocking(out_fd_, true);
  if (opts_.stdin_open) stdin_fd_ = out_fd_;
  if (rows_ || cols_) resize(rows_, cols_);
  addFd(out_fd_, EPOLLIN, kTagStdout);
  updateStdinEvents();
}

void Monitor::onOutput(uint64_t tag) {
  int fd = tag == kTagStdout ? out_fd_ : err_fd_;
  if (fd < 0) return;
  // A client that connected before the container started (berthd's attach for `run`)
  // may still wait in the backlog when epoll reports output first: take it in before the
  // output goes out, or it misses it.
  if (listen_fd_ >= 0) clients_->acceptAll(listen_fd_);
  LineSplitter& split = tag == kTagStdout ? g_stdout : g_stderr;
  size_t room;
  char* p = split.space(&room);
  ssize_t n = ::read(fd, p, room);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // EOF; EIO is how a pty master says the last slave closed
    closeOutput(tag);
    return;
  }
  clients_->broadcast(split.stream(), p, static_cast<size_t>(n));
  split.commit(static_cast<size_t>(n), g_log, realtimeNs());
}

void Monitor::closeOutput(uint64_t tag) {
  int& fd = tag == kTagStdout ? out_fd_ : err_fd_;
  LineSplitter& split = tag == kTagStdout ? g_stdout : g_stderr;
  split.flush(g_log, realtimeNs());
  if (fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (stdin_fd_ == fd) {  // the pty master: stdin goes with it
    stdin_fd_ = -1;
    stdin_len_ = 0;
    stdin_registered_ = false;
  }
  ::close(fd);
  fd = -1;
}

size_t Monitor::stdinRoom() const {
  // Without a stdin (or after it was closed) frames are read and dropped.
  if (stdin_fd_ < 0 || stdin_closed_) return kStdinBuffer;
  return kStdinBuffer - stdin_len_;
}

void Monitor::stdinData(const char* data, size_t len) {
  if (stdin_fd_ < 0 || stdin_closed_ || stdin_close_pending_ || len == 0) return;
  if (len > kStdinBuffer - stdin_len_) len = kStdinBuffer - stdin_len_;  // see REQUIRES
  std::memcpy(g_stdin_buf + stdin_len_, data, len);
  stdin_len_ += len;
  flushStdin();
}

void Monitor::flushStdin() {
  while (stdin_fd_ >= 0 && stdin_len_ > 0) {
    ssize_t n = ::write(stdin_fd_, g_stdin_buf, stdin_len_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      // EPIPE: the container closed its stdin. Everything sent from now on is dropped.
      stdin_len_ = 0;
      stdin_closed_ = true;
      break;
    }
    std::memmove(g_stdin_buf, g_stdin_buf + n, stdin_len_ - static_cast<size_t>(n));
    stdin_len_ -= static_cast<size_t>(n);
  }
  if (stdin_len_ == 0 && stdin_close_pending_) finishStdinClose();
  updateStdinEvents();
}

void Monitor::updateStdinEvents() {
  bool want = stdin_fd_ >= 0 && stdin_len_ > 0;
  if (stdin_fd_ >= 0 && stdin_fd_ == out_fd_) {  // the pty master: one registration
    if (want == stdin_registered_) return;
    struct epoll_event ev {};
    ev.events = EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = kTagStdout;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, out_fd_, &ev);
    stdin_registered_ = want;
    return;
  }
  if (stdin_fd_ < 0 || want == stdin_registered_) return;
  if (want) {
    struct epoll_event ev {};
    ev.events = EPOLLOUT;
    ev.data.u64 = kTagStdin;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stdin_fd_, &ev);
  } else {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stdin_fd_, nullptr);
  }
  stdin_registered_ = want;
}

void Monitor::closeStdin() {
  if (stdin_fd_ < 0 || stdin_closed_) return;
  if (stdin_len_ > 0) {
    stdin_close_pending_ = true;  // after what is queued
    return;
  }
  finishStdinClose();
}

void Monitor::finishStdinClose() {
  stdin_close_pending_ = false;
  stdin_closed_ = true;
  if (stdin_fd_ < 0) return;
  if (stdin_fd_ == out_fd_) {
    (void)::write(stdin_fd_, "\x04", 1);  // EOT: end of input to the terminal's reader
    return;
  }
  if (stdin_registered_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stdin_fd_, nullptr);
  stdin_registered_ = false;
  ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Monitor::resize(uint16_t rows, uint16_t cols) {
  if (!opts_.tty) return;
  rows_ = rows;
  cols_ = cols;
  if (out_fd_ < 0) return;  // applied when the pty arrives
  struct winsize ws {};
  ws.ws_row = rows;
  ws.ws_col = cols;
  ::ioctl(out_fd_, TIOCSWINSZ, &ws);
}

void Monitor::startClosing() {
  // Whatever is still open is held by processes that escaped the container: stop here.
  if (out_fd_ >= 0) closeOutput(kTagStdout);
  if (err_fd_ >= 0) closeOutput(kTagStderr);
  g_stdout.flush(g_log, realtimeNs());
  g_stderr.flush(g_log, realtimeNs());
  g_log.close();
  if (stdin_fd_ >= 0) {
    if (stdin_registered_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stdin_fd_, nullptr);
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
  writeExitFile();
  // From here on a new client finds no socket and reads the exit file instead; those in
  // the backlog still get the exit code.
  if (listen_fd_ >= 0) {
    clients_->acceptAll(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  ::unlink(kSocket);
  uint32_t code = static_cast<uint32_t>(exit_code_);
  char payload[4] = {static_cast<char>(code >> 24), static_cast<char>(code >> 16),
                     static_cast<char>(code >> 8), static_cast<char>(code)};
  clients_->broadcast(kExit, payload, sizeof payload);
  phase_ = Phase::kClosing;
  deadline_ms_ = monotonicMs() + kCloseMs;
}

void Monitor::writeExitFile() {
  TextBuf<160> line;
  line.add("{\"exit_code\":")
      .addSigned(exit_code_)
      .add(",\"signal\":")
      .addSigned(exit_signal_)
      .add(",\"finished_ns\":")
      .addSigned(finished_ns_)
      .add("}\n");
  // Not flushed (see protocol.h): the rename makes it whole or absent, the page cache
  // keeps it for berthd whatever happens to either process, and only a machine crash,
  // which ends the container too, could lose it. The two flushes were ~20 ms of every
  // `run --rm` on a busy disk.
  int fd = ::open(kExitTmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && writeAll(fd, line.c_str(), line.size());
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (ok && ::rename(kExitTmp, kExitFile) == 0) return;
  logError("write the exit file", ok ? errno : err);
}

void Monitor::writeSync(const char* line, size_t len) {
  if (opts_.sync_fd < 0) return;
  writeAll(opts_.sync_fd, line, len);  // berthd may be gone: nothing to do about it
  ::close(opts_.sync_fd);
  opts_.sync_fd = -1;
}

void Monitor::removeSockets() {
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(kSocket);
  }
  if (console_listen_fd_ >= 0) {
    ::close(console_listen_fd_);
    console_listen_fd_ = -1;
    ::unlink(kConsoleSocket);
  }
}

void Monitor::failCreate(int status) {
  TextBuf<32> line;
  line.add("E ").addSigned(status).add('\n');
  writeSync(line.c_str(), line.size());
  // Keep what the runtime (or a hook) printed: the container's stdio was its stdio.
  for (uint64_t tag : {kTagStdout, kTagStderr}) {
    for (int i = 0; i < 64 && (tag == kTagStdout ? out_fd_ : err_fd_) >= 0; ++i) onOutput(tag);
    if ((tag == kTagStdout ? out_fd_ : err_fd_) >= 0) closeOutput(tag);
  }
  g_log.close();
  removeSockets();
  clients_->closeAll();
  ::_exit(1);
}

void Monitor::logError(const char* what, int err) {
  TextBuf<1024> msg;
  msg.add("berth-monitor: ").add(what);
  if (err) {
    msg.add(": ");
    addErrno(msg, err);
  }
  writeAll(2, msg.c_str(), msg.size());
  writeAll(2, "\n", 1);
  if (in_dir_) appendErrorLine(kRuntimeLog, msg.c_str());
}

}  // namespace
}  // namespace berth::monitor

int main(int argc, char** argv) {
  using namespace berth::monitor;
  ensureStdio();
  Options opts;
  char err[512];
  if (!parseOptions(argc, argv, &opts, err, sizeof err)) {
    berth::monitor::TextBuf<600> line;
    line.add("berth-monitor: ").add(err).add('\n');
    writeAll(2, line.c_str(), line.size());
    // Still answer berthd, if we got as far as its descriptor.
    if (opts.sync_fd >= 0) writeAll(opts.sync_fd, "E -1\n", 5);
    return 2;
  }
  Monitor monitor(opts);
  return monitor.run(argv);
}
