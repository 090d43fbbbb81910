#include "scheduler/holders.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace berth::scheduler {
namespace {

TEST(HoldersTest, CountsUpAndDownAndForgetsZero) {
  Holders h;
  EXPECT_EQ(h.add(7, 1), 1u);
  EXPECT_EQ(h.add(7, 2), 3u);
  EXPECT_EQ(h.get(7), 3u);
  EXPECT_EQ(h.get(8), 0u);
  EXPECT_EQ(h.add(7, -3), 0u);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.add(9, -1), 0u);  // nothing to take from: stays absent
  EXPECT_TRUE(h.empty());
}

TEST(HoldersTest, MatchesAMapUnderRandomChurn) {
  // Deletion shifts probe runs back; a random mix against std::map finds a broken shift.
  std::mt19937 gen(5);
  Holders h;
  std::map<NodeId, uint32_t> want;
  for (int i = 0; i < 20000; ++i) {
    NodeId n = gen() % 300;
    bool up = want[n] == 0 || gen() % 2;
    h.add(n, up ? 1 : -1);
    want[n] += up ? 1 : -1;
    if (i % 97 != 0) continue;
    for (NodeId m = 0; m < 300; ++m) ASSERT_EQ(h.get(m), want[m]) << "step " << i << " node " << m;
  }
  size_t nonzero = 0;
  for (auto& [n, c] : want) nonzero += c > 0;
  EXPECT_EQ(h.size(), nonzero);
  size_t seen = 0;
  h.forEach([&](NodeId n, uint32_t c) {
    EXPECT_EQ(c, want[n]);
    ++seen;
  });
  EXPECT_EQ(seen, nonzero);
}

}  // namespace
}  // namespace berth::scheduler
