#include "sys/mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"

namespace berth::sys {

Status mount(const std::string& source, const std::string& target, const std::string& type,
             unsigned long flags, const std::string& data) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    std::string what = "mount " + (type.empty() ? std::string() : type + " ") +
                       quote(source.empty() ? "none" : source) + " at " + quote(target);
    return errnoError(what, errno);
  }
  return okStatus();
}

Status unmount(const std::string& target, int flags) {
  if (::umount2(target.c_str(), flags) != 0) return errnoError("unmount " + quote(target), errno);
  return okStatus();
}

Status pivotRoot(const std::string& rootfs) {
  // pivot_root(".", ".") stacks the old root under the new one; unmounting "." then
  // removes the old root without needing a directory for it inside the container.
  int oldroot = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) return errnoError("open '/'", errno);
  int newroot = ::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) {
    int err = errno;
    ::close(oldroot);
    return errnoError("open root " + quote(rootfs), err);
  }
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(oldroot);
    ::close(newroot);
    return errnoError(what, err);
  };
  if (::fchdir(newroot) != 0) return fail("enter root " + quote(rootfs));
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail("pivot_root to " + quote(rootfs));
  if (::fchdir(oldroot) != 0) return fail("enter old root");
  // The old root may hold shared mounts: make them slaves so the unmount does not
  // propagate back to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    return fail("make old root a slave");
  if (::umount2(".", MNT_DETACH) != 0) return fail("detach old root");
  if (::fchdir(newroot) != 0) return fail("enter new root");
  ::close(oldroot);
  ::close(newroot);
  if (::chdir("/") != 0) return errnoError("chdir '/'", errno);
  return okStatus();
}

Result<unsigned long> lockedMountFlags(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return errnoError("statvfs " + quote(path), errno);
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

}  // namespace berth::sys
