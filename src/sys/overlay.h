#pragma once
// Mounting overlayfs for a container root: read-only lower directories (the image's layer
// snapshots) under a writable upper directory.

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

// Mounts overlayfs at `target`. `lowers` is ordered top first, as overlayfs wants it.
// Layers are passed one at a time with the new mount API ("lowerdir+", Linux 6.8+), so the
// number of layers is not limited by the one page that mount(2)'s option string may use;
// on older kernels it falls back to mount(2) and refuses, with a clear error, a stack
// whose option string does not fit.
// `discardable`: the upper directory is thrown away after this mount (a --rm container's):
// it is mounted "volatile" (Linux 5.10+; ignored before), so overlayfs never flushes it, not
// at unmount (where it cost a flush of the whole upper filesystem) nor when the container
// calls fsync. After a machine crash such an upper cannot be mounted again; nobody will.
Status mountOverlay(const std::vector<std::string>& lowers, const std::string& upper,
                    const std::string& work, const std::string& target, bool discardable = false);

}  // namespace berth::sys
