// Helpers shared by the v1 and v2 managers.

#include "runtime/cgroup/util.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::runtime::cgroup {

// "berth/web/" → "/berth/web": one leading slash, none trailing.
std::string normalizePath(const std::string& path) {
  std::string out = startsWith(path, "/") ? path : "/" + path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

void warn(std::vector<std::string>* warnings, std::string note) {
  if (warnings) warnings->push_back(std::move(note));
}

Result<std::vector<pid_t>> parsePids(const std::string& text, const std::string& file) {
  std::vector<pid_t> out;
  for (const std::string& line : split(text, '\n')) {
    std::string_view field = trim(line);
    if (field.empty()) continue;
    std::optional<long long> pid = parseInt(field);
    if (!pid || *pid <= 0)
      return internalError("read " + quote(file) + ": bad pid " + quote(field));
    out.push_back(static_cast<pid_t>(*pid));
  }
  return out;
}

// The number on the line "<key> N" of a flat-keyed file such as memory.oom_control.
std::optional<long long> keyedValue(const std::string& text, std::string_view key) {
  for (const std::string& line : split(text, '\n')) {
    std::vector<std::string> fields = split(trim(line), ' ');
    if (fields.size() == 2 && fields[0] == key) return parseInt(fields[1]);
  }
  return std::nullopt;
}

// Removes a cgroup directory and any child cgroups below it, deepest first. The interface
// files inside go with their directory. rmdir fails with EBUSY while an exiting task still
// counts as a member, which clears within milliseconds, so that is retried.
Status removeCgroup(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    int err = errno;
    if (err == ENOENT) return okStatus();
    return errnoError("remove cgroup " + quote(dir), err);
  }
  std::vector<std::string> children;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir =
        e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && sys::isDirectory(dir + "/" + name));
    if (is_dir) children.push_back(name);
  }
  ::closedir(d);
  for (const std::string& child : children) {
    BERTH_RETURN_IF_ERROR(removeCgroup(dir + "/" + child));
  }
  auto deadline = std::chrono::steady_clock::now() + kSettleTime;
  while (::rmdir(dir.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT) return okStatus();
    if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      return errnoError("remove cgroup " + quote(dir), err);
    }
    std::this_thread::sleep_for(kPollEvery);
  }
  return okStatus();
}

}  // namespace berth::runtime::cgroup
