#include "scheduler/scorers/scorers.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::rule;
using testing::task;
using Kind = Selector::Kind;

class SoftAffinityTierTest : public testing::FilterTest {
 protected:
  std::vector<std::vector<std::string>> groups(const TaskSpec& t) {
    Batch b{cluster_, t, "web.1"};
    auto runs = SoftAffinityTier().start(b);
    std::vector<std::vector<std::string>> out;
    if (runs.empty()) return out;
    runs[0]->visitGroups(b, cluster_.ready(), [&](const NodeSet& g) {
      out.emplace_back();
      g.forEach([&](NodeId n) { out.back().push_back(cluster_.node(n).name); });
      return false;
    });
    return out;
  }
};

TEST_F(SoftAffinityTierTest, HeavierRulesWinAndAntiRulesSinkANode) {
  NodeId a = add(node("a"));
  NodeId b = add(node("b"));
  add(node("c"));
  put(task("cache"), "cache.1", a);
  put(task("noisy"), "noisy.1", b);
  put(task("cache"), "cache.2", b);
  TaskSpec t = task("web");
  auto near = rule(Kind::kService, "cache", "", false, false);
  near.weight = 5;
  auto away = rule(Kind::kService, "noisy", "", true, false);
  away.weight = 2;
  t.affinities = {near, away};
  // a: +5; b: +5-2 = 3; c: 0.
  using G = std::vector<std::vector<std::string>>;
  EXPECT_EQ(groups(t), (G{{"a"}, {"b"}, {"c"}}));
  t.affinities[1].weight = 9;  // b: -4 now sinks below c
  EXPECT_EQ(groups(t), (G{{"a"}, {"c"}, {"b"}}));
}

TEST_F(SoftAffinityTierTest, HardRulesAreNotItsBusiness) {
  add(node("a"));
  TaskSpec t = task("web");
  t.affinities = {rule(Kind::kService, "cache")};
  EXPECT_TRUE(groups(t).empty());
}

}  // namespace
}  // namespace berth::scheduler
