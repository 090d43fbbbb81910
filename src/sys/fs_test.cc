#include "sys/fs.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace berth::sys {
namespace {

class SecureJoin : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    ASSERT_TRUE(mkdirAll(root_ + "/etc").ok());
  }
  void TearDown() override { (void)removeAll(root_); }
  std::string root_;
};

TEST_F(SecureJoin, StaysInsideTheRootThroughDotDot) {
  EXPECT_EQ(*secureJoin(root_, "/../../etc/passwd"), root_ + "/etc/passwd");
}

TEST_F(SecureJoin, AbsoluteSymlinksResolveAgainstTheRoot) {
  ASSERT_EQ(::symlink("/etc", (root_ + "/link").c_str()), 0);
  EXPECT_EQ(*secureJoin(root_, "/link/hosts"), root_ + "/etc/hosts");
}

TEST_F(SecureJoin, RelativeEscapesAreClamped) {
  ASSERT_EQ(::symlink("../../../../", (root_ + "/etc/up").c_str()), 0);
  EXPECT_EQ(*secureJoin(root_, "/etc/up/shadow"), root_ + "/shadow");
}

TEST_F(SecureJoin, SymlinkLoopsFail) {
  ASSERT_EQ(::symlink("/a", (root_ + "/a").c_str()), 0);
  EXPECT_FALSE(secureJoin(root_, "/a/x").ok());
}

// mkdirAll creates what is missing at any depth, accepts what exists, and names the
// component that is in the way.
TEST_F(SecureJoin, MkdirAllCreatesMissingParentsAndRefusesAFileInTheWay) {
  ASSERT_TRUE(mkdirAll(root_ + "/a/b/c/").ok());
  EXPECT_TRUE(isDirectory(root_ + "/a/b/c"));
  EXPECT_TRUE(mkdirAll(root_ + "/a/b").ok());
  EXPECT_TRUE(mkdirAll(root_ + "//a//b//d").ok());
  EXPECT_TRUE(isDirectory(root_ + "/a/b/d"));
  ASSERT_TRUE(writeFileAtomic(root_ + "/a/file", "x").ok());
  auto in_the_way = mkdirAll(root_ + "/a/file/sub/deeper");
  ASSERT_FALSE(in_the_way.ok());
  EXPECT_NE(in_the_way.error().message().find("/a/file/sub"), std::string::npos)
      << in_the_way.error().message();
  auto is_a_file = mkdirAll(root_ + "/a/file");
  ASSERT_FALSE(is_a_file.ok());
  EXPECT_NE(is_a_file.error().message().find("/a/file"), std::string::npos);
}

TEST_F(SecureJoin, AtomicWriteReplacesContent) {
  std::string f = root_ + "/f";
  ASSERT_TRUE(writeFileAtomic(f, "one").ok());
  ASSERT_TRUE(writeFileAtomic(f, "two").ok());
  EXPECT_EQ(*readFile(f), "two");
  EXPECT_EQ(*listDir(root_), (std::vector<std::string>{"etc", "f"})) << "a temporary file left";
  EXPECT_EQ(readFile(root_ + "/nope").error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::sys
