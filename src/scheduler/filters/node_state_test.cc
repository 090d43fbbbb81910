#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;

class NodeStateFilterTest : public testing::FilterTest {};

TEST_F(NodeStateFilterTest, OnlyReadyNodesTakeTasks) {
  add(node("a"));
  NodeId b = add(node("b"));
  NodeId c = add(node("c"));
  cluster_.setState(b, NodeState::kDraining);
  cluster_.setState(c, NodeState::kDown);
  NodeStateFilter f;
  EXPECT_EQ(narrowed(f, task("web")), std::vector<std::string>{"a"});
  EXPECT_EQ(why(f, task("web"), b), "node draining");
  EXPECT_EQ(why(f, task("web"), c), "node down");
  cluster_.setState(c, NodeState::kReady);
  EXPECT_EQ(narrowed(f, task("web")), (std::vector<std::string>{"a", "c"}));
}

}  // namespace
}  // namespace berth::scheduler
