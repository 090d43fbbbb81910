#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;
using Names = std::vector<std::string>;

class ConstraintFilterTest : public testing::FilterTest {
 protected:
  void SetUp() override {
    add(node("a", {{"zone", "east"}, {"disk", "ssd"}}));
    add(node("b", {{"zone", "west"}}));
    NodeSpec m = node("m", {{"zone", "north"}, {"disk", "hdd"}});
    m.role = "manager";
    add(m);
  }
  Names with(std::initializer_list<const char*> constraints) {
    TaskSpec t = task("web");
    for (const char* c : constraints) t.constraints.push_back(*parseConstraint(c));
    return narrowed(ConstraintFilter(), t);
  }
  std::string whyNot(const char* constraint, NodeId n) {
    TaskSpec t = task("web");
    t.constraints.push_back(*parseConstraint(constraint));
    return why(ConstraintFilter(), t, n);
  }
};

TEST_F(ConstraintFilterTest, EachOperatorOnLabels) {
  EXPECT_EQ(with({"node.labels.zone==east"}), Names{"a"});
  EXPECT_EQ(with({"node.labels.zone!=east"}), (Names{"b", "m"}));
  EXPECT_EQ(with({"node.labels.zone in (east,west)"}), (Names{"a", "b"}));
  EXPECT_EQ(with({"node.labels.zone not in (east,west)"}), Names{"m"});
  EXPECT_EQ(with({"node.labels.disk exists"}), (Names{"a", "m"}));
}

TEST_F(ConstraintFilterTest, MissingLabelMeetsNotEqualAndNotIn) {
  EXPECT_EQ(with({"node.labels.disk!=hdd"}), (Names{"a", "b"}));
  EXPECT_EQ(with({"node.labels.disk not in (hdd)"}), (Names{"a", "b"}));
  EXPECT_EQ(with({"node.labels.gpu exists"}), Names{});
  EXPECT_EQ(with({"node.labels.zone==south"}), Names{});  // a value no node has
}

TEST_F(ConstraintFilterTest, NodeFields) {
  EXPECT_EQ(with({"node.role==manager"}), Names{"m"});
  EXPECT_EQ(with({"node.role!=manager"}), (Names{"a", "b"}));
  EXPECT_EQ(with({"node.hostname==b"}), Names{"b"});
  EXPECT_EQ(with({"node.name in (a,m)"}), (Names{"a", "m"}));
  EXPECT_EQ(with({"node.hostname not in (a,zz)"}), (Names{"b", "m"}));
  EXPECT_EQ(with({"node.hostname exists"}), (Names{"a", "b", "m"}));
}

TEST_F(ConstraintFilterTest, AllConstraintsMustHold) {
  EXPECT_EQ(with({"node.labels.disk exists", "node.role!=manager"}), Names{"a"});
}

TEST_F(ConstraintFilterTest, ReasonsSayWhatTheNodeHas) {
  EXPECT_EQ(whyNot("node.labels.zone==east", 1), "label zone!=east");
  EXPECT_EQ(whyNot("node.labels.zone!=east", 0), "label zone==east");
  EXPECT_EQ(whyNot("node.labels.zone in (east,west)", 2), "label zone not in (east,west)");
  EXPECT_EQ(whyNot("node.labels.zone not in (east)", 0), "label zone in (east)");
  EXPECT_EQ(whyNot("node.labels.disk exists", 1), "no label disk");
  EXPECT_EQ(whyNot("node.role==manager", 0), "role!=manager");
}

}  // namespace
}  // namespace berth::scheduler
