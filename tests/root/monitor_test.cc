// berth-monitor and berth-init with real containers (busybox bundles, berth-runtime):
// the contract of src/monitor/protocol.h seen from berthd's side — the sync line, the
// attach frames, container.log and its rotation, the exit file — and berth-init as a
// container's PID 1.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "monitor/protocol.h"
#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

int64_t nowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Polls cond every 10 ms until it holds or timeout_ms passes.
bool waitFor(const std::function<bool()>& cond, int timeout_ms = 20000) {
  int64_t end = nowMs() + timeout_ms;
  while (!cond()) {
    if (nowMs() > end) return false;
    ::usleep(10000);
  }
  return true;
}

std::string readText(const std::string& path) {
  auto r = sys::readFile(path);
  return r.ok() ? *r : "";
}

std::vector<nlohmann::json> logEntries(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A process is gone once it is reaped or a zombie (of whoever inherited it).
bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && s[close + 2] == 'Z';
}

struct MonitorOptions {
  bool tty = false;
  bool stdin_open = false;
  std::vector<std::string> extra;
  // Run the monitor from an intermediate process that is SIGKILLed at once, so that the
  // monitor outlives its parent (as when berthd dies).
  bool orphan = false;
  std::string bundle;  // default: the Bundle's directory
  // Start it as berthd's pool does (--pool, a runtime loaded ahead), then assign it.
  bool pooled = false;
  bool assign = true;  // pooled: send the assignment (else wait for it in vain)

  MonitorOptions& withTty() {
    tty = true;
    return *this;
  }
  MonitorOptions& withStdin() {
    stdin_open = true;
    return *this;
  }
  MonitorOptions& withArgs(std::vector<std::string> args) {
    extra = std::move(args);
    return *this;
  }
  MonitorOptions& orphaned() {
    orphan = true;
    return *this;
  }
  MonitorOptions& fromPool(bool send_assignment = true) {
    pooled = true;
    assign = send_assignment;
    return *this;
  }
  MonitorOptions& withBundle(std::string dir) {
    bundle = std::move(dir);
    return *this;
  }
};

// One monitor for one container of a Bundle, in its own container directory. Its
// destructor kills the container (so the monitor exits) and the monitor if it is still
// there; the Bundle's destructor then deletes the container.
class MonitorRun {
 public:
  MonitorRun(Bundle& b, MonitorOptions o = {}) : b_(b), id_(uniqueName("mon")) {
    b_.save();
    int sync[2];
    if (o.pooled ? ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0
                 : ::pipe2(sync, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    std::vector<std::string> args = {BERTH_MONITOR,
                                     "--id",
                                     id_,
                                     "--bundle",
                                     o.bundle.empty() ? b_.dir() : o.bundle,
                                     "--dir",
                                     dir(),
                                     "--runtime",
                                     runtimePath(),
                                     "--runtime-root",
                                     b_.stateRoot(),
                                     "--sync-fd",
                                     "3"};
    if (o.tty) args.push_back("--tty");
    if (o.stdin_open) args.push_back("--stdin");
    for (const auto& e : o.extra) args.push_back(e);
    std::string assignment;
    if (o.pooled) {
      // Everything but argv[0] and --sync-fd, which stays the socket.
      for (size_t i = 1; i <= 10; ++i) assignment.append(args[i]).push_back('\0');
      for (size_t i = 13; i < args.size(); ++i) assignment.append(args[i]).push_back('\0');
      // Started with neither --bundle nor --dir, a placeholder id and no extras.
      args[2] = std::string(id_.size(), '-');
      args.erase(args.begin() + 3, args.begin() + 7);
      args.insert(args.begin() + 3, "--pool");
      args.resize(10);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string err_path = b_.dir() + "/monitor.stderr";
    pid_t pid = ::fork();
    if (pid == 0) {
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(err, 1);
      ::dup2(err, 2);
      ::dup2(sync[1], 3);
      if (o.orphan && ::fork() != 0) {
        ::kill(::getpid(), SIGKILL);  // the monitor's parent dies hard
        ::pause();
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(sync[1]);
    sync_fd_ = sync[0];
    if (o.pooled) {
      ready_ = syncLine();
      if (o.assign && ready_ == "R\n")
        ::send(sync_fd_, assignment.data(), assignment.size(), MSG_NOSIGNAL);
    }
    if (o.orphan) {
      int st;
      ::waitpid(pid, &st, 0);  // the intermediate; the monitor is now someone else's
    } else {
      pid_ = pid;
    }
  }

  ~MonitorRun() {
    if (sync_fd_ >= 0) ::close(sync_fd_);
    b_.rt({"kill", id_, "KILL"});
    pid_t pid = pid_ > 0 ? pid_ : monitor_pid_;
    if (pid > 0 && !waitExit(10000)) {
      ::kill(pid, SIGKILL);
      if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    }
  }

  const std::string& id() const { return id_; }
  std::string dir() const { return dir_.path(); }
  std::string path(const char* name) const { return dir() + "/" + name; }
  std::string stderrText() const { return readText(b_.dir() + "/monitor.stderr"); }

  // The sync line ("" on timeout). Parses "P <monitor> <init>".
  std::string syncLine(int timeout_ms = 30000) {
    std::string line;
    int64_t end = nowMs() + timeout_ms;
    while (line.find('\n') == std::string::npos && nowMs() < end) {
      pollfd p{sync_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[128];  // a pooled monitor's socket keeps message boundaries: whole lines
      ssize_t n = ::read(sync_fd_, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    if (line.size() > 2 && line[0] == 'P') {
      std::istringstream ss(line.substr(2));
      ss >> monitor_pid_ >> init_pid_;
    }
    return line;
  }
  pid_t monitorPid() const { return monitor_pid_; }
  pid_t pid() const { return pid_; }
  const std::string& readyLine() const { return ready_; }  // pooled: "R\n"
  void closeSync() {
    ::close(sync_fd_);
    sync_fd_ = -1;
  }
  pid_t initPid() const { return init_pid_; }

  CmdResult start() { return b_.rt({"start", id_}); }

  // Waits for the monitor to exit; its exit status (or -1 on timeout). For an orphaned
  // monitor (not our child): 0 once it is gone.
  int waitExit(int timeout_ms = 20000) {
    if (pid_ <= 0) {
      if (monitor_pid_ <= 0) return -1;
      return waitFor([&] { return processGone(monitor_pid_); }, timeout_ms) ? 0 : -1;
    }
    int64_t end = nowMs() + timeout_ms;
    while (nowMs() < end) {
      int st;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return exit_status_;
      }
      if (r < 0) return exit_status_;
      ::usleep(10000);
    }
    return -1;
  }

  nlohmann::json exitRecord() const { return nlohmann::json::parse(readText(path("exit"))); }

 private:
  Bundle& b_;
  TempDir dir_{"berth-mon"};
  std::string id_;
  pid_t pid_ = -1;
  pid_t monitor_pid_ = -1;
  pid_t init_pid_ = -1;
  int sync_fd_ = -1;
  int exit_status_ = -1;
  std::string ready_;
};

struct Frame {
  uint8_t type = 0;
  std::string data;
};

// An attach connection to monitor.sock.
class Attach {
 public:
  explicit Attach(const std::string& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Attach() { close(); }
  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(uint8_t type, const std::string& payload) {
    uint32_t n = static_cast<uint32_t>(payload.size());
    std::string f(monitor::kFrameHeader, '\0');
    f[0] = static_cast<char>(type);
    for (int i = 0; i < 4; ++i) f[4 + i] = static_cast<char>(n >> (24 - 8 * i));
    f += payload;
    return ::send(fd_, f.data(), f.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(f.size());
  }
  bool resize(uint16_t rows, uint16_t cols) {
    return send(monitor::kResize, {static_cast<char>(rows >> 8), static_cast<char>(rows),
                                   static_cast<char>(cols >> 8), static_cast<char>(cols)});
  }

  // The next frame, or nullopt at end of file or after timeout_ms.
  std::optional<Frame> next(int timeout_ms = 20000) {
    while (true) {
      if (buf_.size() >= 8) {
        uint32_t n = static_cast<uint8_t>(buf_[4]) << 24 | static_cast<uint8_t>(buf_[5]) << 16 |
                     static_cast<uint8_t>(buf_[6]) << 8 | static_cast<uint8_t>(buf_[7]);
        if (buf_.size() >= 8 + n) {
          Frame f{static_cast<uint8_t>(buf_[0]), buf_.substr(8, n)};
          buf_.erase(0, 8 + n);
          return f;
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      char tmp[65536];
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // Reads frames until stdout contains `text` (true) or the stream ends (false).
  bool waitForOutput(const std::string& text, int timeout_ms = 20000) {
    int64_t end = nowMs() + timeout_ms;
    while (out.find(text) == std::string::npos) {
      int left = static_cast<int>(end - nowMs());
      if (left <= 0) return false;
      auto f = next(left);
      if (!f) return false;
      take(*f);
    }
    return true;
  }

  // Reads until the exit frame and end of file: the exit code, or -1.
  int waitForExit(int timeout_ms = 30000) {
    int64_t end = nowMs() + timeout_ms;
    while (true) {
      int left = static_cast<int>(end - nowMs());
      if (left <= 0) return -1;
      auto f = next(left);
      if (!f) return exit_code;
      take(*f);
    }
  }

  std::string out, err;
  int exit_code = -1;
  int exit_frames = 0;

 private:
  void take(const Frame& f) {
    if (f.type == monitor::kStdout) out += f.data;
    if (f.type == monitor::kStderr) err += f.data;
    if (f.type == monitor::kExit && f.data.size() == 4) {
      ++exit_frames;
      exit_code = static_cast<uint8_t>(f.data[0]) << 24 | static_cast<uint8_t>(f.data[1]) << 16 |
                  static_cast<uint8_t>(f.data[2]) << 8 | static_cast<uint8_t>(f.data[3]);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

class Monitor : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    b_.config()["process"]["terminal"] = false;
  }
  Bundle b_;
};

TEST_F(Monitor, OutputGoesToTheLogWithItsStreamAndTheExitCodeToTheExitFile) {
  b_.shell("echo to-out; echo 'to-err \"quoted\"' >&2; printf 'no newline\\001'; exit 3");
  MonitorRun m(b_);
  std::string sync = m.syncLine();
  ASSERT_TRUE(std::regex_match(sync, std::regex("P [0-9]+ [0-9]+\n"))) << sync << m.stderrText();
  EXPECT_GT(m.initPid(), 1);
  EXPECT_TRUE(fs::exists(m.path("monitor.sock")));
  int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  ASSERT_EQ(m.start().code, 0);
  ASSERT_EQ(m.waitExit(), 0) << m.stderrText();

  auto e = logEntries(m.path("container.log"));
  std::map<std::string, std::string> by_stream;
  for (const auto& j : e) {
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")))
        << j.dump();
    by_stream[j["stream"]] += j["log"].get<std::string>();
  }
  EXPECT_EQ(by_stream["stdout"], "to-out\nno newline\x01");
  EXPECT_EQ(by_stream["stderr"], "to-err \"quoted\"\n");
  EXPECT_EQ(e.size(), 3u);

  auto exit = m.exitRecord();
  EXPECT_EQ(exit["exit_code"], 3);
  EXPECT_EQ(exit["signal"], 0);
  EXPECT_GE(exit["finished_ns"].get<int64_t>(), before);
  EXPECT_FALSE(fs::exists(m.path("monitor.sock")));
  EXPECT_FALSE(fs::exists(m.path("exit.tmp")));
}

TEST_F(Monitor, APooledMonitorRunsItsContainerLikeAPlainOne) {
  b_.shell("echo to-out; echo to-err >&2; exit 3");
  MonitorRun m(b_, MonitorOptions().fromPool());
  EXPECT_EQ(m.readyLine(), "R\n") << m.stderrText();
  std::string sync = m.syncLine();
  ASSERT_TRUE(std::regex_match(sync, std::regex("P [0-9]+ [0-9]+\n"))) << sync << m.stderrText();
  // `ps` shows the container's id where the pool's placeholder was.
  std::string cmdline = readText("/proc/" + std::to_string(m.monitorPid()) + "/cmdline");
  EXPECT_NE(cmdline.find(std::string("--id") + '\0' + m.id() + '\0'), std::string::npos) << cmdline;
  ASSERT_EQ(m.start().code, 0);
  ASSERT_EQ(m.waitExit(), 0) << m.stderrText();
  std::map<std::string, std::string> by_stream;
  for (const auto& j : logEntries(m.path("container.log")))
    by_stream[j["stream"]] += j["log"].get<std::string>();
  EXPECT_EQ(by_stream["stdout"], "to-out\n");
  EXPECT_EQ(by_stream["stderr"], "to-err\n");
  EXPECT_EQ(m.exitRecord()["exit_code"], 3);
}

TEST_F(Monitor, APooledMonitorLeftWithoutAContainerExitsWithItsRuntime) {
  MonitorRun m(b_, MonitorOptions().fromPool(/*send_assignment=*/false));
  ASSERT_EQ(m.readyLine(), "R\n") << m.stderrText();
  // Its one child is the runtime, loaded and waiting.
  std::string children = readText("/proc/" + std::to_string(m.pid()) + "/task/" +
                                  std::to_string(m.pid()) + "/children");
  pid_t runtime = static_cast<pid_t>(std::atoi(children.c_str()));
  ASSERT_GT(runtime, 0) << children;
  EXPECT_NE(readText("/proc/" + std::to_string(runtime) + "/cmdline").find("--await-request"),
            std::string::npos);
  m.closeSync();  // as when berthd goes away
  EXPECT_EQ(m.waitExit(), 0) << m.stderrText();
  EXPECT_TRUE(waitFor([&] { return processGone(runtime); }, 10000));
}

TEST_F(Monitor, AClientAttachedBeforeStartSeesTheOutputAndTheExit) {
  b_.shell("echo hello; echo oops >&2; exit 7");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_TRUE(a.connected());
  ASSERT_EQ(m.start().code, 0);
  EXPECT_EQ(a.waitForExit(), 7);
  EXPECT_EQ(a.out, "hello\n");
  EXPECT_EQ(a.err, "oops\n");
  EXPECT_EQ(a.exit_frames, 1);
  EXPECT_EQ(m.waitExit(), 0);
  EXPECT_EQ(m.exitRecord()["exit_code"], 7);
}

TEST_F(Monitor, StdinFramesReachTheContainerAndCloseStdinEndsIt) {
  b_.shell("cat; echo done");
  MonitorRun m(b_, MonitorOptions().withStdin());
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  // Signals meant for berthd's process group must not touch the monitor.
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) ::kill(m.monitorPid(), sig);
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  ASSERT_TRUE(a.send(monitor::kStdin, "line one\n"));
  ASSERT_TRUE(a.waitForOutput("line one\n"));
  ASSERT_TRUE(a.send(monitor::kStdin, "line two\n"));
  ASSERT_TRUE(a.send(monitor::kCloseStdin, ""));
  EXPECT_EQ(a.waitForExit(), 0);
  EXPECT_EQ(a.out, "line one\nline two\ndone\n");
  EXPECT_EQ(m.waitExit(), 0);
}

TEST_F(Monitor, StdinThatTheContainerDoesNotReadNeverBlocksTheMonitor) {
  // 1 MB of stdin for a container that never reads it: the monitor keeps serving output.
  b_.shell("i=0; while [ $i -lt 30 ]; do echo tick $i; i=$((i+1)); sleep 0.02; done");
  MonitorRun m(b_, MonitorOptions().withStdin());
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 16; ++i) a.send(monitor::kStdin, chunk);
  EXPECT_EQ(a.waitForExit(), 0);
  EXPECT_NE(a.out.find("tick 29\n"), std::string::npos) << a.out;
}

TEST_F(Monitor, TtyOutputArrivesAndResizeReachesTheTerminal) {
  b_.config()["process"]["terminal"] = true;
  b_.shell("read a; stty size; read x; stty size; echo got-$x");
  MonitorRun m(b_, MonitorOptions().withTty().withStdin());
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  EXPECT_FALSE(fs::exists(m.path("console.sock")));
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  // Frames of one connection are handled in order: each size is set before the line that
  // lets the container run `stty size`.
  ASSERT_TRUE(a.resize(30, 100));
  ASSERT_TRUE(a.send(monitor::kStdin, "one\n"));
  ASSERT_TRUE(a.waitForOutput("30 100")) << a.out;
  ASSERT_TRUE(a.resize(40, 120));
  ASSERT_TRUE(a.send(monitor::kStdin, "go\n"));
  EXPECT_EQ(a.waitForExit(), 0);
  EXPECT_NE(a.out.find("40 120"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("got-go"), std::string::npos) << a.out;
  EXPECT_TRUE(a.err.empty());
  EXPECT_EQ(m.waitExit(), 0);
  std::string logged;
  for (const auto& j : logEntries(m.path("container.log"))) {
    EXPECT_EQ(j["stream"], "stdout");
    logged += j["log"].get<std::string>();
  }
  EXPECT_NE(logged.find("got-go\r\n"), std::string::npos) << logged;
}

TEST_F(Monitor, TtyCloseStdinSendsEndOfFile) {
  b_.config()["process"]["terminal"] = true;
  b_.shell("cat; echo after-eof");
  MonitorRun m(b_, MonitorOptions().withTty().withStdin());
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  ASSERT_TRUE(a.send(monitor::kStdin, "typed\n"));
  ASSERT_TRUE(a.send(monitor::kCloseStdin, ""));
  EXPECT_EQ(a.waitForExit(), 0);
  EXPECT_NE(a.out.find("after-eof"), std::string::npos) << a.out;
}

TEST_F(Monitor, AClientCanLeaveAndANewOneAttachLater) {
  // berthd restarting: its connection drops, the container goes on, the new berthd
  // attaches and gets what comes next (not a replay: that is container.log's job).
  b_.shell("echo first; while [ ! -e /tmp/go ]; do sleep 0.02; done; echo second; exit 4");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  auto first = std::make_unique<Attach>(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  ASSERT_TRUE(first->waitForOutput("first\n"));
  first.reset();
  Attach second(m.path("monitor.sock"));
  ASSERT_TRUE(second.connected());
  { std::ofstream(b_.rootfs() + "/tmp/go") << "go"; }
  EXPECT_EQ(second.waitForExit(), 4);
  EXPECT_EQ(second.out, "second\n");
  EXPECT_EQ(m.waitExit(), 0);
  std::string logged;
  for (const auto& j : logEntries(m.path("container.log"))) logged += j["log"].get<std::string>();
  EXPECT_EQ(logged, "first\nsecond\n");
}

TEST_F(Monitor, TheContainerOutlivesTheMonitorsParent) {
  b_.shell("while [ ! -e /tmp/go ]; do sleep 0.02; done; echo alive; exit 5");
  MonitorRun m(b_, MonitorOptions().orphaned());
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  ASSERT_FALSE(processGone(m.monitorPid()));
  ASSERT_EQ(m.start().code, 0);
  { std::ofstream(b_.rootfs() + "/tmp/go") << "go"; }
  ASSERT_TRUE(waitFor([&] { return fs::exists(m.path("exit")); })) << m.stderrText();
  EXPECT_EQ(m.exitRecord()["exit_code"], 5);
  EXPECT_EQ(m.waitExit(), 0);
  EXPECT_FALSE(fs::exists(m.path("monitor.sock")));
  EXPECT_EQ(logEntries(m.path("container.log")).at(0)["log"], "alive\n");
}

TEST_F(Monitor, AFailingCreateAnswersEAndLeavesNothingBehind) {
  b_.shell("true");
  MonitorRun m(b_, MonitorOptions().withBundle(b_.dir() + "/no-such-bundle"));
  std::string sync = m.syncLine();
  EXPECT_TRUE(std::regex_match(sync, std::regex("E [1-9][0-9]*\n"))) << sync;
  EXPECT_EQ(m.waitExit(), 1);
  EXPECT_FALSE(fs::exists(m.path("monitor.sock")));
  EXPECT_FALSE(fs::exists(m.path("console.sock")));
  EXPECT_FALSE(fs::exists(m.path("exit")));
  // The reason is in runtime.log, as JSON lines.
  auto lines = logEntries(m.path("runtime.log"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["level"], "error");
  EXPECT_NE(lines.back()["msg"].get<std::string>().find("no-such-bundle"), std::string::npos)
      << lines.back().dump();
  EXPECT_EQ(b_.rt({"list", "-q"}).out, "");
}

TEST_F(Monitor, AFailingCreateWithATtyLeavesNoConsoleSocket) {
  b_.config()["process"]["terminal"] = true;
  b_.config()["process"]["args"] = {"no-such-program"};
  MonitorRun m(b_, MonitorOptions().withTty());
  std::string sync = m.syncLine();
  EXPECT_TRUE(std::regex_match(sync, std::regex("E [1-9][0-9]*\n"))) << sync;
  EXPECT_EQ(m.waitExit(), 1);
  EXPECT_FALSE(fs::exists(m.path("monitor.sock")));
  EXPECT_FALSE(fs::exists(m.path("console.sock")));
}

TEST_F(Monitor, ItsOwnSetupFailureAnswersEMinusOne) {
  b_.shell("true");
  MonitorRun m(b_, MonitorOptions().withArgs({"--dir", "/nonexistent/berth-monitor-dir"}));
  EXPECT_EQ(m.syncLine(), "E -1\n");
  EXPECT_EQ(m.waitExit(), 1);
  EXPECT_NE(m.stderrText().find("berth-monitor: enter the container directory "
                                "'/nonexistent/berth-monitor-dir': no such file or directory"),
            std::string::npos)
      << m.stderrText();
}

TEST_F(Monitor, LotsOfOutputIsLoggedAndSentWhole) {
  b_.shell("seq 1 200000; head -c 40000 /dev/zero | tr '\\000' x; echo");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  EXPECT_EQ(a.waitForExit(60000), 0);
  EXPECT_EQ(m.waitExit(), 0);
  std::string expected;
  for (int i = 1; i <= 200000; ++i) expected += std::to_string(i) + "\n";
  expected += std::string(40000, 'x') + "\n";
  EXPECT_TRUE(a.out == expected) << "attached client got " << a.out.size() << " bytes";
  std::string logged;
  size_t entries = 0, longest = 0;
  for (const auto& j : logEntries(m.path("container.log"))) {
    const auto& piece = j["log"].get_ref<const std::string&>();
    logged += piece;
    longest = std::max(longest, piece.size());
    ++entries;
  }
  EXPECT_TRUE(logged == expected) << "logged " << logged.size() << " bytes";
  EXPECT_EQ(entries, 200000u + 3) << "the 40000-byte line is three entries";
  EXPECT_EQ(longest, monitor::kMaxLogLine);
}

TEST_F(Monitor, TheLogRotatesBySize) {
  b_.shell("i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done");
  MonitorRun m(b_, MonitorOptions().withArgs({"--log-max-size", "2000", "--log-max-files", "3"}));
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  ASSERT_EQ(m.start().code, 0);
  ASSERT_EQ(m.waitExit(), 0);
  std::vector<std::string> lines;
  for (const char* name : {"container.log.2", "container.log.1", "container.log"}) {
    ASSERT_TRUE(fs::exists(m.path(name))) << name;
    EXPECT_LE(fs::file_size(m.path(name)), 2000u) << name;
    for (const auto& j : logEntries(m.path(name))) lines.push_back(j["log"]);
  }
  EXPECT_FALSE(fs::exists(m.path("container.log.3")));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "line-299\n");
  for (size_t i = 1; i < lines.size(); ++i)
    EXPECT_EQ(std::stoi(lines[i].substr(5)), std::stoi(lines[i - 1].substr(5)) + 1) << i;
}

TEST_F(Monitor, DrainingIsBoundedWhenAnEscapedProcessHoldsTheOutput) {
  // Without a pid namespace a background process survives the init and keeps stdout open.
  auto& ns = b_.config()["linux"]["namespaces"];
  for (auto it = ns.begin(); it != ns.end();) {
    if ((*it)["type"] == "pid") {
      it = ns.erase(it);
    } else {
      ++it;
    }
  }
  b_.shell("sleep 30 & echo $!; exit 0");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  int64_t t0 = nowMs();
  EXPECT_EQ(a.waitForExit(), 0);
  int64_t took = nowMs() - t0;
  EXPECT_GE(took, 1500);
  EXPECT_LT(took, 6000);
  EXPECT_EQ(m.waitExit(), 0);
  EXPECT_EQ(m.exitRecord()["exit_code"], 0);
  int escaped = std::atoi(a.out.c_str());
  ASSERT_GT(escaped, 1) << a.out;
  ::kill(escaped, SIGKILL);
  EXPECT_TRUE(waitFor([&] { return processGone(escaped); }));
}

// berth-init as the container's PID 1.
class Init : public Monitor {
 protected:
  void SetUp() override {
    Monitor::SetUp();
    fs::copy_file(BERTH_INIT, b_.rootfs() + "/sbin/berth-init");
  }
  void args(const std::string& script) {
    b_.config()["process"]["args"] = {"/sbin/berth-init", "--", "sh", "-c", script};
  }
};

TEST_F(Init, ForwardsSigtermAndExitsWithTheChildsCode) {
  args("trap 'exit 42' TERM; echo ready $(cat /proc/1/comm) $$; while :; do sleep 0.1; done");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  ASSERT_TRUE(a.waitForOutput("\n")) << a.out << a.err;
  EXPECT_TRUE(std::regex_match(a.out, std::regex("ready berth-init [0-9]+\n")) &&
              a.out != "ready berth-init 1\n")
      << a.out << ": berth-init is PID 1, the shell its child";
  auto k = b_.rt({"kill", m.id(), "TERM"});
  ASSERT_EQ(k.code, 0) << k.err;
  EXPECT_EQ(a.waitForExit(), 42);
  EXPECT_EQ(m.waitExit(), 0);
  EXPECT_EQ(m.exitRecord()["exit_code"], 42);
  EXPECT_EQ(m.exitRecord()["signal"], 0);
}

TEST_F(Init, ReapsOrphanedZombies) {
  // The inner shell exits at once: its background sleep is reparented to PID 1 and must
  // not stay a zombie once it exits.
  args(
      "sh -c 'sleep 0.2 & echo $! > /tmp/orphan'; sleep 1; p=$(cat /tmp/orphan); "
      "if [ -e /proc/$p ]; then echo zombie; cat /proc/$p/stat; exit 1; fi; echo reaped $p");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  Attach a(m.path("monitor.sock"));
  ASSERT_EQ(m.start().code, 0);
  EXPECT_EQ(a.waitForExit(), 0) << a.out;
  EXPECT_EQ(a.out.substr(0, 7), "reaped ") << a.out;
}

TEST_F(Init, PassesOnADeathBySignal) {
  args("kill -USR1 $$");
  MonitorRun m(b_);
  ASSERT_EQ(m.syncLine().substr(0, 2), "P ") << m.stderrText();
  ASSERT_EQ(m.start().code, 0);
  ASSERT_EQ(m.waitExit(), 0);
  EXPECT_EQ(m.exitRecord()["exit_code"], 128 + SIGUSR1);
  EXPECT_EQ(m.exitRecord()["signal"], 0) << "berth-init itself exited normally";
}

TEST(InitOnTheHost, ExecFailuresExitLikeAShell) {
  auto missing = runCmd({BERTH_INIT, "--", "no-such-program-xyz"});
  EXPECT_EQ(missing.code, 127);
  EXPECT_EQ(missing.err, "berth-init: exec no-such-program-xyz: No such file or directory\n");
  auto denied = runCmd({BERTH_INIT, "/etc/passwd"});  // not executable
  EXPECT_EQ(denied.code, 126);
  EXPECT_EQ(runCmd({BERTH_INIT}).code, 2);
  auto ok = runCmd({BERTH_INIT, "sh", "-c", "echo hi; exit 9"});
  EXPECT_EQ(ok.out, "hi\n");
  EXPECT_EQ(ok.code, 9);
}

TEST(Helpers, AreStaticallyLinked) {
  for (const char* bin : {BERTH_MONITOR, BERTH_INIT}) {
    auto r = runCmd({"/usr/bin/ldd", bin});
    EXPECT_NE((r.out + r.err).find("not a dynamic executable"), std::string::npos)
        << bin << ": " << r.out << r.err;
  }
}

// Not an assertion: what a monitor costs while its container sleeps, printed for
// bench/RESULTS.md. Several monitors run at once, so that the shared text is shared.
TEST_F(Monitor, MeasurePssOfMonitorsWithSleepingContainers) {
  b_.shell("echo started; sleep 60");
  constexpr int kMonitors = 8;
  std::vector<std::unique_ptr<MonitorRun>> runs;
  std::vector<std::unique_ptr<Attach>> clients;
  for (int i = 0; i < kMonitors; ++i) {
    runs.push_back(std::make_unique<MonitorRun>(b_));
    ASSERT_EQ(runs.back()->syncLine().substr(0, 2), "P ") << runs.back()->stderrText();
    clients.push_back(std::make_unique<Attach>(runs.back()->path("monitor.sock")));
    ASSERT_EQ(runs.back()->start().code, 0);
    ASSERT_TRUE(clients.back()->waitForOutput("started\n"));
    clients.back().reset();  // detached, as while berthd is down
  }
  ::usleep(200000);
  for (const auto& r : runs) {
    std::ifstream in("/proc/" + std::to_string(r->monitorPid()) + "/smaps_rollup");
    std::string line, summary;
    while (std::getline(in, line)) {
      for (const char* key : {"Rss:", "Pss:", "Pss_Anon:", "Pss_File:", "Private_Dirty:"}) {
        if (line.rfind(key, 0) == 0) {
          std::istringstream ss(line.substr(std::strlen(key)));
          std::string kb;
          ss >> kb;
          summary += std::string(" ") + key + kb + "kB";
        }
      }
    }
    std::printf("[ PSS      ] berth-monitor pid %d (one of %d, container sleeping):%s\n",
                r->monitorPid(), kMonitors, summary.c_str());
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace berth::test
