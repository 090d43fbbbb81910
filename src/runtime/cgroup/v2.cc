// The cgroup v2 manager: the cgroup is one directory of the unified hierarchy, and the
// controllers it needs must be enabled in every ancestor's cgroup.subtree_control.

#include "runtime/cgroup/manager.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include "common/strings.h"
#include "runtime/cgroup/planner.h"
#include "runtime/cgroup/util.h"
#include "sys/fs.h"

namespace berth::runtime::cgroup {
namespace {

// The controllers whose files planAll() writes, in the order cgroup.controllers lists them.
constexpr const char* kControllers[] = {"cpuset", "cpu", "io", "memory", "pids"};

// Notes the settings of `r` that have no cgroup v2 equivalent, which planAll() leaves out.
void warnUnsupported(const Resources& r, std::vector<std::string>* warnings) {
  if (r.memory) {
    const MemoryResources& m = *r.memory;
    if (m.disable_oom_killer) {
      warn(warnings, "skip 'memory.disableOOMKiller': cgroup v2 cannot disable the oom killer");
    }
    if (m.swappiness) {
      warn(warnings, "skip 'memory.swappiness': cgroup v2 has no per-cgroup swappiness");
    }
    bool has_limit = m.limit && *m.limit > 0;
    if (m.swap && *m.swap > 0 && (!has_limit || *m.swap < *m.limit)) {
      warn(warnings,
           "skip 'memory.swap': cgroup v2 limits swap alone, which needs a 'memory.limit' no "
           "larger than the memory+swap total");
    }
  }
  if (!r.devices.empty()) {
    warn(warnings,
         "skip 'devices': device rules on cgroup v2 need an eBPF program, which berth does not "
         "load yet");
  }
}

// Enables in `dir`'s children those of kControllers that `dir` has and has not yet enabled.
// A controller `dir` lacks is left out: a limit that needs it then fails in apply(), naming
// the missing file.
Status enableControllers(const std::string& dir) {
  std::vector<std::string> available =
      split(trim(BERTH_TRY(sys::readFile(dir + "/cgroup.controllers"))), ' ');
  std::vector<std::string> enabled =
      split(trim(BERTH_TRY(sys::readFile(dir + "/cgroup.subtree_control"))), ' ');
  auto has = [](const std::vector<std::string>& list, const char* name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  std::vector<std::string> changes;
  for (const char* c : kControllers) {
    if (has(available, c) && !has(enabled, c)) changes.push_back(std::string("+") + c);
  }
  if (changes.empty()) return okStatus();
  return sys::writeFile(dir + "/cgroup.subtree_control", join(changes, " "));
}

class V2Manager final : public Manager {
 public:
  V2Manager(std::string mount_root, std::string path)
      : root_(std::move(mount_root)), path_(normalizePath(path)) {
    dir_ = path_ == "/" ? root_ : root_ + path_;
  }

  Version version() const override { return Version::kV2; }
  const std::string& path() const override { return path_; }

  Status create() override {
    std::string dir = root_;
    for (const std::string& part : split(path_, '/')) {
      if (part.empty()) continue;
      BERTH_RETURN_IF_ERROR(enableControllers(dir));
      dir += "/" + part;
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir));
    }
    return okStatus();
  }

  Status apply(const Resources& resources, std::vector<std::string>* warnings) override {
    warnUnsupported(resources, warnings);
    for (const Write& w : planAll(resources, Version::kV2)) {
      std::string file = dir_ + "/" + w.file;
      Status written = sys::writeFile(file, w.value);
      if (written.ok()) continue;
      if (!w.optional || written.error().code() != ErrorCode::kNotFound) return written;
      warn(warnings, "skip " + quote(w.file) + ": this kernel does not provide " + quote(file));
    }
    return okStatus();
  }

  Status addProcess(pid_t pid) override {
    return sys::writeFile(dir_ + "/cgroup.procs", std::to_string(pid));
  }

  Result<std::vector<pid_t>> pids() const override {
    std::string file = dir_ + "/cgroup.procs";
    return parsePids(BERTH_TRY(sys::readFile(file)), file);
  }

  Result<bool> oomKilled() const override {
    std::string text = BERTH_TRY(sys::readFile(dir_ + "/memory.events"));
    return keyedValue(text, "oom_kill").value_or(0) > 0;
  }

  // Freezing is asynchronous on v2: cgroup.events says "frozen 1" once every task stopped.
  Status freeze(bool frozen) override {
    BERTH_RETURN_IF_ERROR(sys::writeFile(dir_ + "/cgroup.freeze", frozen ? "1" : "0"));
    auto deadline = std::chrono::steady_clock::now() + kSettleTime;
    while (true) {
      std::string events = BERTH_TRY(sys::readFile(dir_ + "/cgroup.events"));
      if (keyedValue(events, "frozen") == (frozen ? 1 : 0)) return okStatus();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(kPollEvery);
    }
    if (frozen) (void)sys::writeFile(dir_ + "/cgroup.freeze", "0");  // leave none half-frozen
    return Error(ErrorCode::kUnavailable, (frozen ? "freeze cgroup " : "thaw cgroup ") +
                                              quote(path_) + ": not settled after 1s");
  }

  Status destroy() override {
    if (path_ == "/") return invalidArgument("remove cgroup '/': the root cannot be removed");
    return removeCgroup(dir_);
  }

  std::map<std::string, std::string> hostDirs() const override { return {{"", dir_}}; }

 private:
  std::string root_;
  std::string path_;
  std::string dir_;  // root_ joined with path_
};

}  // namespace

std::unique_ptr<Manager> newV2Manager(std::string mount_root, std::string path) {
  return std::make_unique<V2Manager>(std::move(mount_root), std::move(path));
}

}  // namespace berth::runtime::cgroup
