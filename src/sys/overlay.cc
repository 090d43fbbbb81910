#include "sys/overlay.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"
#include "sys/fd.h"
#include "sys/mount.h"

namespace berth::sys {
namespace {

// Returns true when done, false when this kernel lacks "lowerdir+" (caller falls back).
Result<bool> mountWithFsconfig(const std::vector<std::string>& lowers, const std::string& upper,
                               const std::string& work, const std::string& target,
                               bool discardable) {
  Fd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (fs.get() < 0) {
    if (errno == ENOSYS) return false;
    return errnoError("open overlay filesystem", errno);
  }
  for (const auto& l : lowers) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", l.c_str(), 0) != 0) {
      if (errno == EINVAL && &l == &lowers.front()) return false;
      return errnoError("overlay: add layer " + quote(l), errno);
    }
  }
  // Keep the upper directory a plain change set that a tar can express: no directory
  // renames recorded as redirects, no metadata-only copies pointing at lower files.
  (void)::fsconfig(fs.get(), FSCONFIG_SET_STRING, "redirect_dir", "off", 0);
  (void)::fsconfig(fs.get(), FSCONFIG_SET_STRING, "metacopy", "off", 0);
  if (discardable) (void)::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "volatile", nullptr, 0);
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0) != 0)
    return errnoError("overlay: upper directory " + quote(upper), errno);
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) != 0)
    return errnoError("overlay: work directory " + quote(work), errno);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return errnoError("create overlay at " + quote(target), errno);
  Fd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (mnt.get() < 0) return errnoError("mount overlay at " + quote(target), errno);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return errnoError("attach overlay at " + quote(target), errno);
  return true;
}

}  // namespace

Status mountOverlay(const std::vector<std::string>& lowers, const std::string& upper,
                    const std::string& work, const std::string& target, bool discardable) {
  if (lowers.empty()) return invalidArgument("mount overlay at " + quote(target) + ": no layers");
  if (BERTH_TRY(mountWithFsconfig(lowers, upper, work, target, discardable))) return okStatus();
  std::string data = "lowerdir=" + join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work;
  // Kernels without "lowerdir+" predate 6.8; "volatile" (5.10) is left out rather than risk
  // an EINVAL for an option that only saves time.
  if (data.size() >= static_cast<size_t>(::getpagesize()))
    return unsupported(
        "mount overlay at " + quote(target) + ": " + std::to_string(lowers.size()) +
        " layers do not fit in one mount option string on this kernel (needs Linux 6.8)");
  return mount("overlay", target, "overlay", 0, data);
}

}  // namespace berth::sys
