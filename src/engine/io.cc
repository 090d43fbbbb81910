// Talking to running containers: attach, resize, top, stats, and the root for cp.

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/strings.h"
#include "engine/entry.h"
#include "engine/image_access.h"
#include "engine/monitor_client.h"
#include "monitor/protocol.h"
#include "runtime/cgroup/manager.h"
#include "runtime/container.h"
#include "sys/fs.h"
#include "sys/overlay.h"

namespace berth::engine {

Result<sys::Fd> Engine::attach(const std::string& ref, const Cancelled& cancelled,
                               const std::function<Status()>& attached) {
  auto e = BERTH_TRY(find(ref));
  auto pending = std::make_shared<PendingAttach>();
  std::string running_dir;
  {
    std::lock_guard lock(e->mu);
    if (e->c.running()) {
      running_dir = dirOf(e->c.id);
    } else if (e->c.state.status != RunState::kCreated &&
               e->c.state.status != RunState::kRestarting) {
      return conflict("you cannot attach to a stopped container " + quote(e->c.name) +
                      ": start it first");
    } else {
      e->pending.push_back(pending);
    }
  }
  if (!running_dir.empty()) {
    auto fd = BERTH_TRY(connectMonitor(running_dir));
    if (attached) BERTH_RETURN_IF_ERROR(attached());
    return fd;
  }
  Status told = attached ? attached() : okStatus();
  bool done = told.ok() && waitFor(
                               [&] {
                                 std::lock_guard lock(e->mu);
                                 return pending->done || e->removed;
                               },
                               cancelled, -1);
  std::lock_guard lock(e->mu);
  if (!pending->done) {
    std::erase(e->pending, pending);
    if (!told) return told.error();
    if (!done) return unavailable("attach to " + quote(ref) + ": cancelled");
    return notFound("no such container: " + quote(ref));
  }
  if (pending->error) return *pending->error;
  return std::move(pending->fd);
}

Status Engine::resize(const std::string& ref, int rows, int cols) {
  auto e = BERTH_TRY(find(ref));
  std::string dir;
  {
    std::lock_guard lock(e->mu);
    if (!e->c.running())
      return conflict("cannot resize container " + quote(e->c.name) + ": it is not running");
    if (!e->c.config.tty) return okStatus();
    dir = dirOf(e->c.id);
  }
  auto fd = BERTH_TRY(connectMonitor(dir));
  return writeFrame(fd.get(), monitor::kResize, resizePayload(rows, cols));
}

namespace {

std::string firstLineField(const std::string& text, const std::string& key) {
  for (const auto& line : split(text, '\n')) {
    if (startsWith(line, key)) return std::string(trim(line.substr(key.size())));
  }
  return "";
}

int64_t readNumber(const std::string& path) {
  auto t = sys::readFile(path);
  if (!t) return -1;
  auto v = parseInt(trim(*t));
  return v ? *v : -1;
}

}  // namespace

Result<nlohmann::json> Engine::top(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::string id;
  {
    std::lock_guard lock(e->mu);
    if (!e->c.running()) return conflict("container " + quote(e->c.name) + " is not running");
    id = e->c.id;
  }
  auto pids = BERTH_TRY(runtime::processes(runtimeStore(opts_), id));
  nlohmann::json procs = nlohmann::json::array();
  long tick = ::sysconf(_SC_CLK_TCK);
  for (pid_t pid : pids) {
    std::string base = "/proc/" + std::to_string(pid);
    auto status = sys::readFile(base + "/status");
    auto stat = sys::readFile(base + "/stat");
    auto cmdline = sys::readFile(base + "/cmdline");
    if (!status || !stat) continue;
    std::string uid = split(firstLineField(*status, "Uid:"), '\t')[0];
    std::string ppid = firstLineField(*status, "PPid:");
    // utime and stime are fields 14 and 15, counted after the ")" that ends the name.
    auto rest = split(stat->substr(stat->rfind(')') + 2), ' ');
    long long ticks =
        rest.size() > 12 ? parseInt(rest[11]).value_or(0) + parseInt(rest[12]).value_or(0) : 0;
    long long secs = ticks / (tick > 0 ? tick : 100);
    char time[32];
    std::snprintf(time, sizeof time, "%02lld:%02lld:%02lld", secs / 3600, secs / 60 % 60,
                  secs % 60);
    std::string cmd = cmdline ? *cmdline : "";
    for (auto& ch : cmd)
      if (ch == '\0') ch = ' ';
    procs.push_back({uid, std::to_string(pid), ppid, time, std::string(trim(cmd))});
  }
  return nlohmann::json{{"titles", {"UID", "PID", "PPID", "TIME", "CMD"}}, {"processes", procs}};
}

Result<nlohmann::json> Engine::stats(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::string id;
  {
    std::lock_guard lock(e->mu);
    id = e->c.id;
    if (!e->c.running()) {
      return nlohmann::json{{"read_ns", nowNs()},
                            {"cpu", {{"usage_ns", 0}, {"system_ns", 0}, {"online_cpus", 0}}},
                            {"memory", {{"usage", 0}, {"limit", 0}, {"max_usage", 0}}},
                            {"pids", {{"current", 0}, {"limit", 0}}}};
    }
  }
  auto cg = BERTH_TRY(runtime::cgroup::openHostManager("/berth/" + id));
  auto dirs = cg->hostDirs();
  auto at = [&](const std::string& hierarchy) -> std::string {
    for (const auto& [name, dir] : dirs) {
      for (const auto& part : split(name, ',')) {
        if (part == hierarchy) return dir;
      }
    }
    return dirs.count("") ? dirs.at("") : "";
  };
  int64_t usage = 0, limit = 0, max_usage = 0, cpu = 0, pids = 0, pids_limit = 0;
  if (cg->version() == runtime::cgroup::Version::kV1) {
    std::string mem = at("memory");
    usage = readNumber(mem + "/memory.usage_in_bytes");
    limit = readNumber(mem + "/memory.limit_in_bytes");
    max_usage = readNumber(mem + "/memory.max_usage_in_bytes");
    cpu = readNumber(at("cpuacct") + "/cpuacct.usage");
    pids = readNumber(at("pids") + "/pids.current");
    pids_limit = readNumber(at("pids") + "/pids.max");
  } else {
    std::string d = at("");
    usage = readNumber(d + "/memory.current");
    limit = readNumber(d + "/memory.max");
    max_usage = readNumber(d + "/memory.peak");
    auto cs = sys::readFile(d + "/cpu.stat");
    if (cs) cpu = parseInt(firstLineField(*cs, "usage_usec")).value_or(0) * 1000;
    pids = readNumber(d + "/pids.current");
    pids_limit = readNumber(d + "/pids.max");
  }
  // A v1 "unlimited" limit is a huge number; show the host's memory instead, as docker does.
  auto info = sys::readFile("/proc/meminfo");
  int64_t host_mem =
      info ? parseInt(split(firstLineField(*info, "MemTotal:"), ' ')[0]).value_or(0) * 1024 : 0;
  if (limit <= 0 || (host_mem > 0 && limit > host_mem)) limit = host_mem;
  int64_t system_ns = 0;
  if (auto ps = sys::readFile("/proc/stat")) {
    auto fields = split(split(*ps, '\n')[0], ' ');
    long long jiffies = 0;
    for (size_t i = 1; i < fields.size(); ++i) jiffies += parseInt(fields[i]).value_or(0);
    long tick = ::sysconf(_SC_CLK_TCK);
    system_ns = jiffies * (1000000000LL / (tick > 0 ? tick : 100));
  }
  return nlohmann::json{{"read_ns", nowNs()},
                        {"cpu",
                         {{"usage_ns", std::max<int64_t>(cpu, 0)},
                          {"system_ns", system_ns},
                          {"online_cpus", ::sysconf(_SC_NPROCESSORS_ONLN)}}},
                        {"memory",
                         {{"usage", std::max<int64_t>(usage, 0)},
                          {"limit", limit},
                          {"max_usage", std::max<int64_t>(max_usage, 0)}}},
                        {"pids", {{"current", std::max<int64_t>(pids, 0)}, {"limit", pids_limit}}}};
}

Result<std::string> Engine::rootfsFor(const std::string& ref, std::function<void()>* release) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  std::string dir = dirOf(e->c.id);
  std::string rootfs = dir + "/rootfs";
  *release = [] {};
  if (e->c.running()) return rootfs;
  // A stopped container: mount its root for the copy, unmount after (unless it started
  // meanwhile, which mounts its own).
  auto lowers = BERTH_TRY(images_->layers(e->c.image_id));
  (void)::umount2(rootfs.c_str(), MNT_DETACH);
  BERTH_RETURN_IF_ERROR(sys::mountOverlay(lowers, dir + "/upper", dir + "/work", rootfs));
  std::weak_ptr<Entry> weak = e;
  *release = [this, weak, rootfs] {
    auto entry = weak.lock();
    if (!entry) return;
    std::lock_guard l(entry->mu);
    if (!entry->c.running()) (void)::umount2(rootfs.c_str(), MNT_DETACH);
  };
  return rootfs;
}

namespace {

// An overlayfs whiteout: a character device 0:0.
bool whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

void walkUpper(const std::string& upper, const std::string& rel,
               const std::vector<std::string>& lowers,
               std::vector<std::pair<std::string, int>>& out) {
  auto names = sys::listDir(upper + rel);
  if (!names) return;
  for (const auto& n : *names) {
    std::string path = rel + "/" + n;
    struct stat st {};
    if (::lstat((upper + path).c_str(), &st) != 0) continue;
    bool below = std::any_of(lowers.begin(), lowers.end(), [&](const std::string& l) {
      struct stat ls {};
      return ::lstat((l + path).c_str(), &ls) == 0;
    });
    if (whiteout(st)) {
      out.emplace_back(path, 2);
      continue;
    }
    out.emplace_back(path, below ? 0 : 1);
    if (S_ISDIR(st.st_mode)) walkUpper(upper, path, lowers, out);
  }
}

}  // namespace

Result<std::vector<std::pair<std::string, int>>> Engine::changes(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::string id, image;
  {
    std::lock_guard lock(e->mu);
    id = e->c.id;
    image = e->c.image_id;
  }
  auto lowers = BERTH_TRY(images_->layers(image));
  std::vector<std::pair<std::string, int>> out;
  walkUpper(dirOf(id) + "/upper", "", lowers, out);
  std::sort(out.begin(), out.end());
  return out;
}

Result<int64_t> Engine::sizeRw(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::string id;
  {
    std::lock_guard lock(e->mu);
    id = e->c.id;
  }
  return sys::treeSize(dirOf(id) + "/upper");
}

}  // namespace berth::engine
