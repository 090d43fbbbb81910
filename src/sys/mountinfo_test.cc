#include "sys/mountinfo.h"

#include <gtest/gtest.h>

namespace berth::sys {
namespace {

TEST(MountInfoTest, ReadsMountPointFstypeAndSuperOptionsAndUndoesEscapes) {
  auto mounts = parseMountInfo(
      "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory\n"
      "not a mount line\n"
      "40 25 0:35 / /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts[0].fstype, "cgroup");
  EXPECT_EQ(mounts[0].super_options, "rw,memory");
  EXPECT_EQ(mounts[1].mount_point, "/mnt/with space");
  EXPECT_EQ(mounts[1].fstype, "cgroup2");
}

TEST(MountInfoTest, TheProcessSeesItsRoot) {
  auto mounts = readMountInfo();
  ASSERT_TRUE(mounts) << mounts.error().message();
  bool root = false;
  for (const auto& m : *mounts) root = root || m.mount_point == "/";
  EXPECT_TRUE(root);
}

}  // namespace
}  // namespace berth::sys
