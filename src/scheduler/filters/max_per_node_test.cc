#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;
using Names = std::vector<std::string>;

class MaxPerNodeFilterTest : public testing::FilterTest {};

TEST_F(MaxPerNodeFilterTest, CountsOnlyTheServicesOwnTasks) {
  NodeId a = add(node("a"));
  NodeId b = add(node("b"));
  TaskSpec web = task("web");
  web.max_per_node = 2;
  put(web, "web.1", a);
  put(web, "web.2", a);
  put(task("db"), "db.1", b);
  put(task("db"), "db.2", b);
  MaxPerNodeFilter f;
  EXPECT_EQ(narrowed(f, web), Names{"b"});
  EXPECT_EQ(why(f, web, a), "max 2 tasks of service 'web' per node");
  EXPECT_FALSE(f.applies(task("web")));
}

TEST_F(MaxPerNodeFilterTest, AfterPlaceDropsAFullNode) {
  NodeId a = add(node("a"));
  TaskSpec web = task("web");
  web.max_per_node = 1;
  MaxPerNodeFilter f;
  Batch b{cluster_, web, "web.1"};
  NodeSet c = cluster_.ready();
  f.narrow(b, c);
  ASSERT_TRUE(c.has(a));
  put(web, "web.1", a);
  f.afterPlace(b, a, c);
  EXPECT_FALSE(c.has(a));
}

}  // namespace
}  // namespace berth::scheduler
