#include "runtime/mounts.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace berth::runtime {
namespace {

TEST(MountOptions, SplitsFlagsPropagationAndData) {
  auto o = parseMountOptions({"nosuid", "strictatime", "mode=755", "size=65536k", "rslave"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=65536k");
  EXPECT_FALSE(o.bind());
}

TEST(MountOptions, LaterOptionsWin) {
  auto o = parseMountOptions({"ro", "rw", "rbind"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_TRUE(o.bind());
}

TEST(MountOptions, PropagationNames) {
  EXPECT_EQ(propagationFlags(""), 0u);
  EXPECT_EQ(propagationFlags("private"), static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(propagationFlags("rshared"), static_cast<unsigned long>(MS_SHARED | MS_REC));
}

}  // namespace
}  // namespace berth::runtime
