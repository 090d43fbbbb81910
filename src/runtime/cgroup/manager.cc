// Picking the host's cgroup layout, and the cgroup path a container gets.

#include "runtime/cgroup/manager.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <string_view>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::runtime::cgroup {
namespace {

constexpr char kCgroupRoot[] = "/sys/fs/cgroup";

// True for a cgroup v1 super option that names a controller ("memory") or a named
// hierarchy ("name=systemd"), false for flags and settings ("rw", "release_agent=…").
bool isControllerOption(std::string_view opt) {
  if (startsWith(opt, "name=")) return true;
  if (opt.find('=') != std::string_view::npos) return false;
  for (std::string_view flag : {"rw", "ro", "none", "noprefix", "clone_children", "xattr",
                                "cpuset_v2_mode", "favordynmods"}) {
    if (opt == flag) return false;
  }
  return true;
}

// Undoes mountinfo's octal escapes of space, tab, newline and backslash ("\040").
std::string unescapeMountField(std::string_view s) {
  auto isOctal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && isOctal(s[i + 1]) && isOctal(s[i + 2]) &&
        isOctal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The v1 hierarchies in /proc/self/mountinfo, whose lines read
//   36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
// (the fields after " - " are fstype, source and super options). cgroup2 mounts are
// skipped: in the hybrid layout /sys/fs/cgroup/unified holds no controller berth uses.
// Where a hierarchy is mounted twice, the first mount (the host's) wins.
V1Hierarchies parseV1Mounts(const std::string& mountinfo) {
  V1Hierarchies out;
  for (const std::string& line : split(mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> mount = split(line.substr(0, dash), ' ');
    std::vector<std::string> fs = split(line.substr(dash + 3), ' ');
    if (mount.size() < 5 || fs.size() < 3 || fs[0] != "cgroup") continue;
    std::vector<std::string> controllers;
    for (const std::string& opt : split(fs[2], ',')) {
      if (isControllerOption(opt)) controllers.push_back(opt);
    }
    if (controllers.empty()) continue;
    out.emplace(join(controllers, ","), unescapeMountField(mount[4]));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Manager>> openHostManager(const std::string& path) {
  struct statfs fs {};
  if (::statfs(kCgroupRoot, &fs) != 0) {
    int err = errno;
    return errnoError("open cgroup " + quote(path) + ": inspect " + quote(kCgroupRoot), err);
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return newV2Manager(kCgroupRoot, path);
  std::string mountinfo = BERTH_TRY(sys::readFile("/proc/self/mountinfo"));
  V1Hierarchies hierarchies = parseV1Mounts(mountinfo);
  if (hierarchies.empty()) {
    return unsupported("open cgroup " + quote(path) + ": " + quote(kCgroupRoot) +
                       " is not a cgroup2 mount and no cgroup v1 hierarchy is mounted");
  }
  return newV1Manager(std::move(hierarchies), path);
}

Result<std::string> resolvePath(const std::string& cgroups_path, const std::string& id) {
  std::string suggested = "/berth/" + id;
  if (cgroups_path.empty()) {
    if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") {
      return invalidArgument("cgroup path for container " + quote(id) + ": bad container id");
    }
    return suggested;
  }
  // systemd's form is "slice:prefix:name", e.g. "system.slice:berth:web".
  if (cgroups_path[0] != '/' && split(cgroups_path, ':').size() == 3) {
    return unsupported("cgroup path " + quote(cgroups_path) +
                       ": systemd cgroup paths are not supported: use a cgroupfs path such as " +
                       quote(suggested));
  }
  std::string resolved;
  for (const std::string& part : split(cgroups_path, '/')) {
    if (part == "..") {
      return invalidArgument("cgroup path " + quote(cgroups_path) + ": '..' is not allowed");
    }
    if (!part.empty() && part != ".") resolved.append("/").append(part);
  }
  if (resolved.empty()) {
    return invalidArgument("cgroup path " + quote(cgroups_path) +
                           ": names the root cgroup: use a path below it such as " +
                           quote(suggested));
  }
  return resolved;
}

}  // namespace berth::runtime::cgroup
