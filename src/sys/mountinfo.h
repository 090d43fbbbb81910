#pragma once
// /proc/self/mountinfo, parsed. A line reads
//   36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
// (mount point 5th; after " - ": fstype, source, super options). Mount points come back
// with mountinfo's octal escapes ("\040" for a space) undone.

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

struct MountInfo {
  std::string mount_point;
  std::string fstype;
  std::string super_options;  // "rw,memory"
};

// The mounts listed in `text`, in order; malformed lines are skipped.
std::vector<MountInfo> parseMountInfo(const std::string& text);
// The calling process's mounts.
Result<std::vector<MountInfo>> readMountInfo();

}  // namespace berth::sys
