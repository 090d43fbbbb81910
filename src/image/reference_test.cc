#include "image/reference.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(Reference, NormalisesLikeDocker) {
  EXPECT_EQ(*normalizeName("busybox"), "busybox:latest");
  EXPECT_EQ(*normalizeName("busybox:1.36"), "busybox:1.36");
  EXPECT_EQ(*normalizeName("docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(*normalizeName("localhost:5000/team/app"), "localhost:5000/team/app:latest");
  EXPECT_EQ(*normalizeName("localhost/bb:t"), "localhost/bb:t");
}

TEST(Reference, RejectsWithTheOffendingPart) {
  EXPECT_EQ(normalizeName("Busybox").error().message(),
            "image name 'Busybox': invalid name component 'Busybox' (lowercase letters, digits, "
            "'.', '_', '-')");
  EXPECT_NE(normalizeName("app:bad tag").error().message().find("invalid tag 'bad tag'"),
            std::string::npos);
  EXPECT_FALSE(normalizeName("").ok());
  EXPECT_FALSE(normalizeName("a//b").ok());
}

TEST(Reference, IdsAreHex) {
  EXPECT_TRUE(looksLikeId("sha256:abcd"));
  EXPECT_TRUE(looksLikeId("0123abcd"));
  EXPECT_FALSE(looksLikeId("busybox"));
  EXPECT_FALSE(looksLikeId("abc"));
}

}  // namespace
}  // namespace berth::image
