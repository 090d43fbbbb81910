#include "scheduler/node_set.h"

#include <gtest/gtest.h>

namespace berth::scheduler {
namespace {

std::vector<NodeId> members(const NodeSet& s) {
  std::vector<NodeId> out;
  s.forEach([&](NodeId n) { out.push_back(n); });
  return out;
}

TEST(NodeSetTest, SetOperationsAcrossWords) {
  NodeSet a(130), b(130);
  for (NodeId n : {0u, 63u, 64u, 129u}) a.set(n);
  for (NodeId n : {63u, 100u, 129u}) b.set(n);
  NodeSet both = a;
  both &= b;
  EXPECT_EQ(members(both), (std::vector<NodeId>{63, 129}));
  NodeSet either = a;
  either |= b;
  EXPECT_EQ(either.count(), 5u);
  NodeSet only_a = a;
  only_a.andNot(b);
  EXPECT_EQ(members(only_a), (std::vector<NodeId>{0, 64}));
  EXPECT_EQ(a.complement().count(), 126u);  // no bits past the size
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(only_a.intersects(b));
}

TEST(NodeSetTest, FindFromWrapsAround) {
  NodeSet s(200);
  for (NodeId n : {5u, 70u, 150u}) s.set(n);
  std::vector<NodeId> seen;
  s.findFrom(71, [&](NodeId n) {
    seen.push_back(n);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<NodeId>{150, 5, 70}));
  NodeId found = 0;
  EXPECT_TRUE(s.findFrom(151, [&](NodeId n) { return (found = n) == 5; }));
  EXPECT_EQ(found, 5u);
}

TEST(NodeSetTest, FindInBothSeesOnlyCommonMembers) {
  NodeSet a(100), b(100);
  for (NodeId n : {1u, 2u, 80u}) a.set(n);
  for (NodeId n : {2u, 80u, 90u}) b.set(n);
  std::vector<NodeId> seen;
  a.findInBoth(b, 50, [&](NodeId n) {
    seen.push_back(n);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<NodeId>{80, 2}));
}

TEST(NodeSetTest, ResizeKeepsMembersAndFillsWhenAsked) {
  NodeSet s(10);
  s.set(3);
  s.resize(100);
  EXPECT_EQ(members(s), std::vector<NodeId>{3});
  s.resize(120, true);
  EXPECT_EQ(s.count(), 21u);
  s.clear();
  EXPECT_TRUE(s.empty());
  s.fill();
  EXPECT_EQ(s.count(), 120u);
}

}  // namespace
}  // namespace berth::scheduler
