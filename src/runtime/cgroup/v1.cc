// The cgroup v1 manager: the cgroup is one directory in each mounted hierarchy, and each
// limit goes to the hierarchy whose controller list names the file's controller.

#include "runtime/cgroup/manager.h"

#include <dirent.h>
#include <unistd.h>

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

// True when a hierarchy key such as "cpu,cpuacct" lists `controller`.
bool listsController(const std::string& key, const std::string& controller) {
  for (const std::string& c : split(key, ',')) {
    if (c == controller) return true;
  }
  return false;
}

class V1Manager final : public Manager {
 public:
  V1Manager(V1Hierarchies hierarchies, std::string path)
      : hierarchies_(std::move(hierarchies)), path_(normalizePath(path)) {}

  Version version() const override { return Version::kV1; }
  const std::string& path() const override { return path_; }

  Status create() override {
    for (const auto& [key, mount] : hierarchies_) {
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(dirIn(mount)));
      if (listsController(key, "cpuset")) BERTH_RETURN_IF_ERROR(inheritCpusets(mount));
    }
    return okStatus();
  }

  Status apply(const Resources& resources, std::vector<std::string>* warnings) override {
    for (const Write& w : planAll(resources, Version::kV1)) {
      std::optional<std::string> dir = dirOf(w.controller);
      if (!dir) {
        std::string why = "the " + quote(w.controller) + " hierarchy is not mounted";
        if (!w.optional) return unsupported("write " + quote(w.file) + ": " + why);
        warn(warnings, "skip " + quote(w.file) + ": " + why);
        continue;
      }
      std::string file = *dir + "/" + w.file;
      Status written = sys::writeFile(file, w.value);
      if (written.ok()) continue;
      if (!w.optional || written.error().code() != ErrorCode::kNotFound) return written;
      warn(warnings, "skip " + quote(w.file) + ": this kernel does not provide " + quote(file));
    }
    return okStatus();
  }

  Status addProcess(pid_t pid) override {
    for (const auto& [key, mount] : hierarchies_) {
      BERTH_RETURN_IF_ERROR(sys::writeFile(dirIn(mount) + "/cgroup.procs", std::to_string(pid)));
    }
    return okStatus();
  }

  Result<std::vector<pid_t>> pids() const override {
    std::optional<std::string> dir = dirOf("pids");
    if (!dir) dir = dirOf("memory");
    if (!dir && !hierarchies_.empty()) dir = dirIn(hierarchies_.begin()->second);
    if (!dir) return unsupported("list processes of cgroup " + quote(path_) + ": no hierarchy");
    std::string file = *dir + "/cgroup.procs";
    return parsePids(BERTH_TRY(sys::readFile(file)), file);
  }

  Result<bool> oomKilled() const override {
    std::optional<std::string> dir = dirOf("memory");
    if (!dir) {
      return unsupported("read oom kills of cgroup " + quote(path_) +
                         ": the 'memory' hierarchy is not mounted");
    }
    std::string text = BERTH_TRY(sys::readFile(*dir + "/memory.oom_control"));
    // Kernels before 4.13 have no oom_kill line; they cannot tell, so report none.
    return keyedValue(text, "oom_kill").value_or(0) > 0;
  }

  Status freeze(bool frozen) override {
    std::optional<std::string> dir = dirOf("freezer");
    if (!dir) {
      return unsupported((frozen ? "freeze cgroup " : "thaw cgroup ") + quote(path_) +
                         ": the 'freezer' hierarchy is not mounted");
    }
    std::string file = *dir + "/freezer.state";
    if (!frozen) return sys::writeFile(file, "THAWED");
    // The state passes through FREEZING while tasks are stopped; a task that resists
    // (vfork, a task in uninterruptible sleep) keeps it there, so bound the wait.
    auto deadline = std::chrono::steady_clock::now() + kSettleTime;
    std::string state;
    while (true) {
      BERTH_RETURN_IF_ERROR(sys::writeFile(file, "FROZEN"));
      state = std::string(trim(BERTH_TRY(sys::readFile(file))));
      if (state == "FROZEN") return okStatus();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(kPollEvery);
    }
    (void)sys::writeFile(file, "THAWED");  // best effort: leave no task half-frozen
    return Error(ErrorCode::kUnavailable, "freeze cgroup " + quote(path_) + ": " + quote(file) +
                                              " is still " + quote(state) + " after 1s");
  }

  Status destroy() override {
    if (path_ == "/") return invalidArgument("remove cgroup '/': the root cannot be removed");
    Status first = okStatus();
    for (const auto& [key, mount] : hierarchies_) {
      Status removed = removeCgroup(dirIn(mount));
      if (!removed.ok() && first.ok()) first = removed;
    }
    return first;
  }

  std::map<std::string, std::string> hostDirs() const override {
    std::map<std::string, std::string> out;
    for (const auto& [key, mount] : hierarchies_) out[key] = dirIn(mount);
    return out;
  }

 private:
  std::string dirIn(const std::string& mount) const { return path_ == "/" ? mount : mount + path_; }

  // This cgroup's directory in the hierarchy that holds `controller`.
  std::optional<std::string> dirOf(const std::string& controller) const {
    for (const auto& [key, mount] : hierarchies_) {
      if (listsController(key, controller)) return dirIn(mount);
    }
    return std::nullopt;
  }

  // A new v1 cpuset starts with empty cpus and mems and refuses tasks until they are set,
  // so each level below the mount takes its parent's sets where its own are empty.
  Status inheritCpusets(const std::string& mount) {
    std::string parent = mount;
    for (const std::string& part : split(path_, '/')) {
      if (part.empty()) continue;
      std::string dir = parent + "/" + part;
      for (const char* name : {"cpuset.cpus", "cpuset.mems"}) {
        std::string own(trim(BERTH_TRY(sys::readFile(dir + "/" + name))));
        if (!own.empty()) continue;
        std::string inherited(trim(BERTH_TRY(sys::readFile(parent + "/" + name))));
        BERTH_RETURN_IF_ERROR(sys::writeFile(dir + "/" + name, inherited));
      }
      parent = dir;
    }
    return okStatus();
  }

  V1Hierarchies hierarchies_;
  std::string path_;
};

}  // namespace

std::unique_ptr<Manager> newV1Manager(V1Hierarchies hierarchies, std::string path) {
  return std::make_unique<V1Manager>(std::move(hierarchies), std::move(path));
}

}  // namespace berth::runtime::cgroup
