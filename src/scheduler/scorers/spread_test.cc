#include "scheduler/scorers/scorers.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;

class SpreadTierTest : public testing::FilterTest {
 protected:
  // The zones of the groups the tier offers, best first.
  std::vector<std::string> order(const TaskSpec& t) {
    Batch b{cluster_, t, "web.x"};
    auto runs = SpreadTier().start(b);
    EXPECT_EQ(runs.size(), t.spread.size());
    std::vector<std::string> zones;
    runs[0]->visitGroups(b, cluster_.ready(), [&](const NodeSet& g) {
      std::string z;
      g.forEach([&](NodeId n) {
        auto it = cluster_.node(n).labels.find("zone");
        std::string here = it == cluster_.node(n).labels.end() ? "-" : it->second;
        EXPECT_TRUE(z.empty() || z == here) << "a group mixes zones";
        z = here;
      });
      zones.push_back(z);
      return false;
    });
    return zones;
  }
};

TEST_F(SpreadTierTest, TheZoneWithFewestTasksComesFirst) {
  NodeId e = add(node("e1", {{"zone", "east"}}));
  add(node("e2", {{"zone", "east"}}));
  NodeId w = add(node("w1", {{"zone", "west"}}));
  add(node("s1", {{"zone", "south"}}));
  add(node("x"));  // no zone: a domain of its own
  TaskSpec t = task("web");
  t.spread.push_back({"zone", {}});
  put(t, "web.1", e);
  put(t, "web.2", e);
  put(t, "web.3", w);
  put(task("other"), "other.1", w);  // other services do not count
  EXPECT_EQ(order(t), (std::vector<std::string>{"south", "-", "west", "east"}));
}

TEST_F(SpreadTierTest, WeightsSetEachZonesShare) {
  NodeId e = add(node("e1", {{"zone", "east"}}));
  NodeId w = add(node("w1", {{"zone", "west"}}));
  TaskSpec t = task("web");
  t.spread.push_back({"zone", {{"east", 2}}});
  // east weighs 2: it takes two tasks for each one west takes.
  EXPECT_EQ(order(t)[0], "east");
  put(t, "web.1", e);
  EXPECT_EQ(order(t)[0], "east");  // (1+1)/2 = 1 ties (0+1)/1 = 1: zone order
  put(t, "web.2", e);
  EXPECT_EQ(order(t)[0], "west");
  put(t, "web.3", w);
  EXPECT_EQ(order(t)[0], "east");
}

TEST_F(SpreadTierTest, AfterPlaceCountsTheBatch) {
  NodeId e = add(node("e1", {{"zone", "east"}}));
  add(node("w1", {{"zone", "west"}}));
  TaskSpec t = task("web");
  t.spread.push_back({"zone", {}});
  Batch b{cluster_, t, "web.1"};
  auto runs = SpreadTier().start(b);
  runs[0]->afterPlace(b, e);
  std::string first;
  runs[0]->visitGroups(b, cluster_.ready(), [&](const NodeSet& g) {
    first = g.has(e) ? "east" : "west";
    return true;
  });
  EXPECT_EQ(first, "west");
}

}  // namespace
}  // namespace berth::scheduler
