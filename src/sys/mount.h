#pragma once
// mount(2), umount2(2) and pivot_root(2) with errors that say what was mounted where.

#include <string>

#include "common/result.h"

namespace berth::sys {

Status mount(const std::string& source, const std::string& target, const std::string& type,
             unsigned long flags, const std::string& data);
Status unmount(const std::string& target, int flags);
// Makes `rootfs` the root of the calling process's mount namespace and detaches the old
// root. REQUIRES: `rootfs` is a mount point; the caller is in a private mount namespace.
Status pivotRoot(const std::string& rootfs);
// Mount flags (MS_NOSUID …) of the mount holding `path`, from statvfs, in the form a
// bind remount must repeat inside a user namespace (locked flags).
Result<unsigned long> lockedMountFlags(const std::string& path);

}  // namespace berth::sys
