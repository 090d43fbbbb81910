#include "image/digest.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(Digest, HashesLikeSha256sum) {
  EXPECT_EQ(sha256Of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("ab", 2);
  h.update("c", 1);
  EXPECT_EQ(h.finish().hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, ParsesOnlyWellFormedSha256) {
  auto d = Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shortId(), "ba7816bf8f01");
  EXPECT_FALSE(Digest::parse("sha512:00").ok());
  EXPECT_FALSE(Digest::parse("sha256:BA78").ok());
  EXPECT_FALSE(Digest::parse("sha256:../../etc/passwd").ok());
}

}  // namespace
}  // namespace berth::image
