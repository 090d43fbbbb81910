#include "engine/cgroup_warmup.h"

#include <unistd.h>

#include "common/log.h"
#include "common/strings.h"
#include "runtime/cgroup/manager.h"
#include "sys/fs.h"

namespace berth::engine {
namespace {

// The file to write and what to write into it so that the calling thread (v1) or process
// (v2) moves into the cgroup it is in now; see the header.
Result<std::pair<std::string, std::string>> ownMembership(const runtime::cgroup::Manager& host) {
  auto dirs = host.hostDirs();
  std::string own = BERTH_TRY(sys::readFile("/proc/thread-self/cgroup"));
  // Lines read "ID:CONTROLLERS:PATH" (v2: "0::PATH"); a path may itself hold ':'.
  for (const std::string& line : split(own, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string names = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (path == "/") path.clear();
    if (host.version() == runtime::cgroup::Version::kV2) {
      if (!names.empty() || !dirs.count("")) continue;
      return std::make_pair(dirs[""] + path + "/cgroup.procs", std::to_string(::getpid()));
    }
    // systemd's own hierarchy is left alone.
    if (names == "name=systemd" || !dirs.count(names)) continue;
    return std::make_pair(dirs[names] + path + "/tasks", std::to_string(::gettid()));
  }
  return unsupported("warm the cgroup migration lock: no cgroup of berthd's found in " +
                     quote("/proc/thread-self/cgroup"));
}

}  // namespace

CgroupWarmup::CgroupWarmup() : thread_([this] { loop(); }) {}

CgroupWarmup::~CgroupWarmup() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CgroupWarmup::kick() {
  {
    std::lock_guard lock(mu_);
    wanted_ = true;
  }
  cv_.notify_all();
}

void CgroupWarmup::loop() {
  std::unique_ptr<runtime::cgroup::Manager> host;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    Status moved = [&]() -> Status {
      if (!host) host = BERTH_TRY(runtime::cgroup::openHostManager("/"));
      auto [file, id] = BERTH_TRY(ownMembership(*host));
      return sys::writeFile(file, id);
    }();
    if (!moved) {
      log::debug("cgroup warm-up off: " + moved.error().message());
      return;  // kicks only set wanted_ from now on
    }
    lock.lock();
  }
}

}  // namespace berth::engine
