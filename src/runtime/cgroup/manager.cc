// Picking the host's cgroup layout, and the cgroup path a container gets.

#include "runtime/cgroup/manager.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "common/strings.h"
#include "sys/mountinfo.h"

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

// The v1 hierarchies among the mounts (fstype "cgroup", the controllers in the super
// options). cgroup2 mounts are skipped: in the hybrid layout /sys/fs/cgroup/unified holds no
// controller berth uses. Where a hierarchy is mounted twice, the first mount (the host's) wins.
V1Hierarchies v1Hierarchies(const std::vector<sys::MountInfo>& mounts) {
  V1Hierarchies out;
  for (const sys::MountInfo& m : mounts) {
    if (m.fstype != "cgroup") continue;
    std::vector<std::string> controllers;
    for (const std::string& opt : split(m.super_options, ',')) {
      if (isControllerOption(opt)) controllers.push_back(opt);
    }
    if (controllers.empty()) continue;
    out.emplace(join(controllers, ","), m.mount_point);
  }
  return out;
}

// A handed-down layout is trusted only while each of its mount points is a v1 cgroup mount.
std::optional<V1Hierarchies> layoutFromEnvironment() {
  const char* text = ::getenv(kV1LayoutEnv);
  if (text == nullptr) return std::nullopt;
  auto layout = parseV1Layout(text);
  if (!layout) return std::nullopt;
  for (const auto& [controllers, mount] : *layout) {
    struct statfs fs {};
    if (::statfs(mount.c_str(), &fs) != 0 || fs.f_type != CGROUP_SUPER_MAGIC) return std::nullopt;
  }
  return layout;
}

bool isCgroup2Root() {
  struct statfs fs {};
  return ::statfs(kCgroupRoot, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

std::string formatV1Layout(const V1Hierarchies& hierarchies) {
  std::vector<std::string> entries;
  for (const auto& [controllers, mount] : hierarchies) {
    if (mount.find(';') != std::string::npos) return "";
    entries.push_back(controllers + "=" + mount);
  }
  return join(entries, ";");
}

std::optional<V1Hierarchies> parseV1Layout(std::string_view text) {
  if (text.empty()) return std::nullopt;
  V1Hierarchies out;
  for (const std::string& entry : split(text, ';')) {
    // Controllers never hold a '/', and a mount point is absolute: the first "=/" splits.
    size_t at = entry.find("=/");
    if (at == 0 || at == std::string::npos) return std::nullopt;
    if (!out.emplace(entry.substr(0, at), entry.substr(at + 1)).second) return std::nullopt;
  }
  return out;
}

Status exportHostLayout() {
  if (isCgroup2Root()) {
    ::unsetenv(kV1LayoutEnv);
    return okStatus();
  }
  std::string text = formatV1Layout(v1Hierarchies(BERTH_TRY(sys::readMountInfo())));
  if (text.empty()) {
    ::unsetenv(kV1LayoutEnv);
    return okStatus();
  }
  if (::setenv(kV1LayoutEnv, text.c_str(), 1) != 0)
    return errnoError(std::string("set ") + kV1LayoutEnv, errno);
  return okStatus();
}

Result<std::unique_ptr<Manager>> openHostManager(const std::string& path) {
  struct statfs fs {};
  if (::statfs(kCgroupRoot, &fs) != 0) {
    int err = errno;
    return errnoError("open cgroup " + quote(path) + ": inspect " + quote(kCgroupRoot), err);
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return newV2Manager(kCgroupRoot, path);
  std::optional<V1Hierarchies> handed = layoutFromEnvironment();
  V1Hierarchies hierarchies =
      handed ? std::move(*handed) : v1Hierarchies(BERTH_TRY(sys::readMountInfo()));
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
