#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::rule;
using testing::task;
using Names = std::vector<std::string>;
using Kind = Selector::Kind;

class AffinityFilterTest : public testing::ZonedFilterTest {
 protected:
  void SetUp() override {
    ZonedFilterTest::SetUp();
    TaskSpec cache = task("cache");
    cache.labels["tier"] = "cache";
    put(cache, "cache.1", a_);
  }
  AffinityFilter f_;
};

TEST_F(AffinityFilterTest, SameNodeAsAService) {
  EXPECT_EQ(narrowed(f_, with(rule(Kind::kService, "cache"))), Names{"a"});
  EXPECT_EQ(why(f_, with(rule(Kind::kService, "cache")), c_),
            "no task of service 'cache' on the node");
}

TEST_F(AffinityFilterTest, SameZoneAsALabel) {
  auto t = with(rule(Kind::kLabel, "tier", "zone", false, true, "cache"));
  EXPECT_EQ(narrowed(f_, t), (Names{"a", "b"}));  // d has no zone: shares none
  EXPECT_EQ(why(f_, t, c_), "no task labelled tier=cache in its zone");
}

TEST_F(AffinityFilterTest, CoLocationWithANamedTask) {
  EXPECT_EQ(narrowed(f_, with(rule(Kind::kTask, "cache.1"))), Names{"a"});
  EXPECT_EQ(narrowed(f_, with(rule(Kind::kTask, "cache.9"))), Names{});
}

TEST_F(AffinityFilterTest, SoftRulesDoNotFilter) {
  EXPECT_FALSE(f_.applies(with(rule(Kind::kService, "cache", "", false, false))));
  EXPECT_FALSE(f_.applies(with(rule(Kind::kService, "cache", "", true, true))));  // anti
}

TEST_F(AffinityFilterTest, AffinityToItsOwnServiceLetsTheFirstGoAnywhere) {
  auto t = with(rule(Kind::kService, "web"));
  EXPECT_EQ(narrowed(f_, t), (Names{"a", "b", "c", "d"}));
  put(t, "web.1", c_);
  EXPECT_EQ(narrowed(f_, t), Names{"c"});
}

TEST_F(AffinityFilterTest, AfterPlaceNarrowsToTheFirstTasksNode) {
  auto t = with(rule(Kind::kService, "web"));
  Batch b{cluster_, t, "web.1"};
  NodeSet c = cluster_.ready();
  f_.narrow(b, c);
  EXPECT_EQ(c.count(), 4u);
  put(t, "web.1", b_);
  f_.afterPlace(b, b_, c);
  EXPECT_EQ(c.count(), 1u);
  EXPECT_TRUE(c.has(b_));
}

}  // namespace
}  // namespace berth::scheduler
