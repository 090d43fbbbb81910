#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;
using Names = std::vector<std::string>;

class TaskSlotFilterTest : public testing::FilterTest {};

TEST_F(TaskSlotFilterTest, AFullNodeTakesNoMore) {
  NodeId a = add(node("a", {}, 4000, testing::kGiB, 2));
  add(node("b", {}, 4000, testing::kGiB, 0));  // no limit
  put(task("x", 0, 0), "x.1", a);
  TaskSlotFilter f;
  EXPECT_EQ(narrowed(f, task("web", 0, 0)), (Names{"a", "b"}));
  put(task("x", 0, 0), "x.2", a);
  EXPECT_EQ(narrowed(f, task("web", 0, 0)), Names{"b"});
  EXPECT_EQ(why(f, task("web"), a), "max tasks reached");
}

}  // namespace
}  // namespace berth::scheduler
