#include "common/ignore_rules.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(IgnoreRules, PatternsCommentsAndReinclusion) {
  auto r = IgnoreRules::parse("# secrets\nsecret.txt\n*.tmp\nlogs/\n!logs/keep.log\n**/cache\n");
  EXPECT_TRUE(r.ignored("secret.txt"));
  EXPECT_TRUE(r.ignored("./a.tmp"));
  EXPECT_FALSE(r.ignored("dir/a.tmp"));    // FNM_PATHNAME: '*' does not cross '/'
  EXPECT_TRUE(r.ignored("logs/old.log"));  // a directory covers its contents
  EXPECT_FALSE(r.ignored("logs/keep.log"));
  EXPECT_TRUE(r.ignored("a/b/cache/x"));
  EXPECT_FALSE(r.ignored("Dockerfile"));
  EXPECT_TRUE(IgnoreRules::parse("").empty());
}

}  // namespace
}  // namespace berth
