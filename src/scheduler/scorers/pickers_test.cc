// The strategies: least busy (spread), binpack and random, over load_order.cc.
#include "scheduler/scorers/scorers.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;

class PickerTest : public testing::FilterTest {
 protected:
  std::optional<NodeId> pick(const Picker& p, const NodeSet& group, uint64_t spin = 0,
                             std::optional<NodeId> refuse = std::nullopt) {
    TaskSpec t = task("web");
    Batch b{cluster_, t, "web.1"};
    auto accept = [&](NodeId n) { return !refuse || n != *refuse; };
    return p.pick(b, group, accept, spin);
  }
  // n nodes, node i holding i small tasks (loads all differ).
  void loaded(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      NodeId id = add(node("n" + std::to_string(i)));
      for (size_t k = 0; k < i; ++k)
        put(task("x", 10, 1 << 20), "x." + std::to_string(i) + "." + std::to_string(k), id);
    }
  }
};

TEST_F(PickerTest, LeastBusyTakesTheEmptiestAcceptedNode) {
  loaded(5);
  EXPECT_EQ(pick(LeastBusyPicker(), cluster_.ready()), NodeId{0});
  EXPECT_EQ(pick(LeastBusyPicker(), cluster_.ready(), 3, NodeId{0}), NodeId{1});
}

TEST_F(PickerTest, BinpackTakesTheFullestAcceptedNode) {
  loaded(5);
  EXPECT_EQ(pick(BinpackPicker(), cluster_.ready()), NodeId{4});
  EXPECT_EQ(pick(BinpackPicker(), cluster_.ready(), 1, NodeId{4}), NodeId{3});
}

TEST_F(PickerTest, LoadOrderIsTheSameWhenWalkingBuckets) {
  // Past the direct-scan size the pickers walk load buckets: same answers.
  loaded(300);
  EXPECT_EQ(pick(LeastBusyPicker(), cluster_.ready(), 77), NodeId{0});
  EXPECT_EQ(pick(BinpackPicker(), cluster_.ready(), 77), NodeId{299});
  EXPECT_EQ(pick(BinpackPicker(), cluster_.ready(), 77, NodeId{299}), NodeId{298});
}

TEST_F(PickerTest, TiesGoToTheNodeAtOrAfterTheSpin) {
  for (int i = 0; i < 4; ++i) add(node("n" + std::to_string(i)));
  EXPECT_EQ(pick(LeastBusyPicker(), cluster_.ready(), 2), NodeId{2});
  EXPECT_EQ(pick(LeastBusyPicker(), cluster_.ready(), 6), NodeId{2});  // spin % 4
}

TEST_F(PickerTest, RandomFollowsTheSpinAndSkipsRefusals) {
  for (int i = 0; i < 4; ++i) add(node("n" + std::to_string(i)));
  EXPECT_EQ(pick(RandomPicker(), cluster_.ready(), 1), NodeId{1});
  EXPECT_EQ(pick(RandomPicker(), cluster_.ready(), 3, NodeId{3}), NodeId{0});
}

TEST_F(PickerTest, AnEmptyGroupGivesNothing) {
  add(node("a"));
  NodeSet none = cluster_.emptySet();
  EXPECT_EQ(pick(LeastBusyPicker(), none), std::nullopt);
  EXPECT_EQ(pick(BinpackPicker(), none), std::nullopt);
  EXPECT_EQ(pick(RandomPicker(), none), std::nullopt);
}

}  // namespace
}  // namespace berth::scheduler
