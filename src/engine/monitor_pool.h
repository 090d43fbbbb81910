#pragma once
// Monitors started ahead of their containers, so that a container start does not wait for
// two execs (the monitor, then the runtime: ~2-3 ms of loading, relocating and building a
// command line). A pooled monitor (src/monitor/protocol.h, "Pooled monitors") runs at idle
// priority, loads a runtime that waits for its request, says "R" on its socket and waits
// for its container; launchMonitor() then sends it the container's options instead of
// spawning a new one.
//
// The pool keeps up to `size` ready monitors; take() hands one out and wakes the thread
// that starts the next one (at idle priority: it uses CPU nobody else wants). An empty pool
// is no error: the caller spawns a monitor the usual way. A pooled monitor holds nothing
// on disk; when berthd goes away (even kill -9) its socket closes and it exits with its
// runtime, so neither crashes nor shutdowns leave anything to reconcile.
//
// After a monitor failed to start (wrong path, exec refused) the pool stops refilling and
// logs why once. Thread-safe; destruction closes the idle monitors' sockets and reaps them.

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::engine {

struct PooledMonitor {
  pid_t pid = 0;
  sys::Fd sock;  // SOCK_SEQPACKET: the assignment goes out, the "P"/"E" line comes back
};

class MonitorPool {
 public:
  MonitorPool(std::string monitor, std::string runtime, std::string runtime_root, size_t size);
  ~MonitorPool();
  MonitorPool(const MonitorPool&) = delete;
  MonitorPool& operator=(const MonitorPool&) = delete;

  // A ready monitor, or nullopt when none is.
  std::optional<PooledMonitor> take();

 private:
  void loop();
  Result<PooledMonitor> spawn();

  const std::string monitor_, runtime_, runtime_root_;
  const size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PooledMonitor> ready_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::engine
