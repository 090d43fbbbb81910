#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::rule;
using testing::task;
using Names = std::vector<std::string>;
using Kind = Selector::Kind;

class AntiAffinityFilterTest : public testing::ZonedFilterTest {
 protected:
  void SetUp() override {
    ZonedFilterTest::SetUp();
    put(task("db"), "db.1", a_);
  }
  AntiAffinityFilter f_;
};

TEST_F(AntiAffinityFilterTest, NotOnTheNodeOfAService) {
  auto t = with(rule(Kind::kService, "db", "", true));
  EXPECT_EQ(narrowed(f_, t), (Names{"b", "c", "d"}));
  EXPECT_EQ(why(f_, t, a_), "task of service 'db' on the node");
}

TEST_F(AntiAffinityFilterTest, NotInTheZoneOfAService) {
  auto t = with(rule(Kind::kService, "db", "zone", true));
  EXPECT_EQ(narrowed(f_, t), (Names{"c", "d"}));  // d has no zone: shares none
  EXPECT_EQ(why(f_, t, b_), "task of service 'db' in its zone");
}

TEST_F(AntiAffinityFilterTest, APlacedTasksRuleBindsLaterTasks) {
  // db.2 refuses any task labelled role=noisy in its zone; a noisy task placed later
  // must keep out even though its own spec says nothing.
  auto db = with(rule(Kind::kLabel, "role", "zone", true, true, "noisy"), "db");
  put(db, "db.2", c_);
  TaskSpec noisy = task("batch");
  noisy.labels["role"] = "noisy";
  EXPECT_EQ(narrowed(f_, noisy), (Names{"a", "b", "d"}));
  EXPECT_EQ(why(f_, noisy, c_), "refused by a task's anti-affinity in its zone");
}

TEST_F(AntiAffinityFilterTest, NeverWithANamedTaskBothWays) {
  auto t = with(rule(Kind::kTask, "db.1", "", true));
  EXPECT_EQ(narrowed(f_, t), (Names{"b", "c", "d"}));
  // And the other way: a task that refuses 'web.7' binds web.7 alone.
  put(with(rule(Kind::kTask, "web.7", "", true), "logger"), "logger.1", d_);
  EXPECT_EQ(narrowed(f_, task("web"), "web.7"), (Names{"a", "b", "c"}));
  EXPECT_EQ(narrowed(f_, task("web"), "web.8"), (Names{"a", "b", "c", "d"}));
}

TEST_F(AntiAffinityFilterTest, AfterPlaceKeepsTheBatchApart) {
  auto t = with(rule(Kind::kService, "web", "zone", true));
  Batch b{cluster_, t, "web.1"};
  NodeSet c = cluster_.ready();
  f_.narrow(b, c);
  EXPECT_EQ(c.count(), 4u);
  put(t, "web.1", a_);
  f_.afterPlace(b, a_, c);
  EXPECT_FALSE(c.has(a_));
  EXPECT_FALSE(c.has(b_));  // same zone
  EXPECT_TRUE(c.has(c_));
  EXPECT_TRUE(c.has(d_));
}

}  // namespace
}  // namespace berth::scheduler
