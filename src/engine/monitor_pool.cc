#include "engine/monitor_pool.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/strings.h"
#include "engine/monitor_client.h"

namespace berth::engine {
namespace {

// The id a pooled monitor shows in `ps` until it has a container: as long as a real one,
// which takes its place in the same bytes.
const std::string kPlaceholderId(64, '-');

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

MonitorPool::MonitorPool(std::string monitor, std::string runtime, std::string runtime_root,
                         size_t size)
    : monitor_(std::move(monitor)),
      runtime_(std::move(runtime)),
      runtime_root_(std::move(runtime_root)),
      size_(size),
      thread_([this] { loop(); }) {}

MonitorPool::~MonitorPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& m : ready_) {
    m.sock.reset();  // it sees the end and exits, and its runtime with it
    reap(m.pid);
  }
}

std::optional<PooledMonitor> MonitorPool::take() {
  std::lock_guard lock(mu_);
  if (ready_.empty()) return std::nullopt;
  PooledMonitor m = std::move(ready_.front());
  ready_.pop_front();
  cv_.notify_all();
  return m;
}

Result<PooledMonitor> MonitorPool::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return errnoError("create a pooled monitor's socket", errno);
  PooledMonitor m;
  m.sock = sys::Fd(sv[0]);
  sys::Fd theirs(sv[1]);
  m.pid = BERTH_TRY(spawnMonitor({monitor_, "--id", kPlaceholderId, "--pool", "--runtime", runtime_,
                                  "--runtime-root", runtime_root_, "--sync-fd", "3"},
                                 theirs.get()));
  theirs.reset();
  // At idle priority it may take a while on a busy machine; a shutdown does not wait.
  char buf[8];
  ssize_t n = -1;
  for (;;) {
    struct pollfd p {
      m.sock.get(), POLLIN, 0
    };
    int r = ::poll(&p, 1, 100);
    if (r > 0) {
      n = ::recv(m.sock.get(), buf, sizeof buf, 0);
      break;
    }
    if (r < 0 && errno != EINTR) break;
    std::lock_guard lock(mu_);
    if (stopping_) break;
  }
  if (n == 2 && buf[0] == 'R' && buf[1] == '\n') return m;
  m.sock.reset();
  reap(m.pid);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return unavailable("monitor pool: stopping");
  }
  return internalError("pooled monitor " + quote(monitor_) + " did not get ready");
}

void MonitorPool::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || ready_.size() < size_; });
    if (stopping_) return;
    lock.unlock();
    auto m = spawn();
    lock.lock();
    if (!m) {
      if (!stopping_) log::warn(m.error().context("monitor pool: off").message());
      return;  // take() answers nullopt from now on: starts spawn their monitors
    }
    ready_.push_back(std::move(*m));
  }
}

}  // namespace berth::engine
