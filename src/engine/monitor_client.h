#pragma once
// berthd's side of berth-monitor (src/monitor/protocol.h): spawning one for a container,
// talking to it, reading what it leaves behind, and noticing when monitors exit.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "engine/container_config.h"
#include "sys/fd.h"

namespace berth::engine {

struct MonitorLaunch {
  std::string monitor;  // path of berth-monitor
  std::string runtime;  // path of the OCI runtime
  std::string runtime_root;
  std::string id;
  std::string dir;  // the container's directory: bundle (config.json) and monitor files
  bool tty = false;
  bool open_stdin = false;
  LogOptions log;
};

struct MonitorStarted {
  pid_t monitor_pid = 0;
  unsigned long long monitor_start = 0;
  pid_t init_pid = 0;
};

// Spawns the monitor (or takes a pooled one from `pool`, when it has one ready) and waits
// until the runtime's create has finished. On failure the error carries the runtime's own
// message (from runtime.log) and nothing is left running.
Result<MonitorStarted> launchMonitor(const MonitorLaunch& l, class MonitorPool* pool);

// Spawns berth-monitor with `args` (args[0] its path) and `sync_fd` as its descriptor 3,
// stdio on /dev/null, default signals; the caller reaps it.
Result<pid_t> spawnMonitor(std::vector<std::string> args, int sync_fd);

// Connects to the monitor's attach socket in `dir` (works for paths longer than a
// sockaddr_un can hold).
Result<sys::Fd> connectMonitor(const std::string& dir);
// Frames in docker's stream format, as the monitor speaks them (protocol.h).
struct Frame {
  uint8_t type = 0;
  std::string payload;
};
std::string encodeFrame(uint8_t type, std::string_view payload);
// Takes the first complete frame off the front of `buf`; nullopt until one is complete.
std::optional<Frame> takeFrame(std::string& buf);
// Writes one frame, whole.
Status writeFrame(int fd, uint8_t type, std::string_view payload);
// The payloads of exit (code) and resize (rows, cols) frames.
std::string exitPayload(int code);
std::optional<int> exitCodeIn(const Frame& f);
std::string resizePayload(int rows, int cols);
std::optional<std::pair<int, int>> sizeIn(const Frame& f);

struct MonitorExit {
  int exit_code = 0;
  int signal = 0;
  int64_t finished_ns = 0;
};
// The monitor's exit file, nullopt when it is missing or unreadable.
std::optional<MonitorExit> readExitFile(const std::string& dir);

// True when `pid` is alive and started at `start_time` (so not a reused pid).
bool processMatches(pid_t pid, unsigned long long start_time);

// Watches monitor processes (pidfds in one epoll, one thread) and calls back with the
// container id once a monitor has exited (and, if it was our child, reaps it). The
// callback runs on the watcher's thread. Thread-safe.
class ExitWatcher {
 public:
  using Callback = std::function<void(const std::string& id)>;
  explicit ExitWatcher(Callback cb);
  ~ExitWatcher();  // stops the thread

  // Starts watching `pid`; if it is already gone the callback comes at once.
  Status watch(const std::string& id, pid_t pid);

 private:
  void loop();
  Callback cb_;
  sys::Fd epoll_;
  sys::Fd wake_;  // eventfd: stop
  std::mutex mu_;
  std::map<int, std::pair<std::string, sys::Fd>> watched_;  // pidfd → (id, pidfd)
  std::thread thread_;
};

}  // namespace berth::engine
