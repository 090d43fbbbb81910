#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::kGiB;
using testing::node;
using testing::task;
using Names = std::vector<std::string>;

class ResourceFilterTest : public testing::FilterTest {};

TEST_F(ResourceFilterTest, RequestsMustFitWhatIsLeft) {
  NodeId a = add(node("a", {}, 1000, 2 * kGiB));
  NodeId b = add(node("b", {}, 4000, 1 * kGiB));
  add(node("c", {}, 4000, 4 * kGiB));
  put(task("db", 600, kGiB), "db.1", a);
  ResourceFilter f;
  TaskSpec web = task("web", 500, 2 * kGiB);
  EXPECT_EQ(narrowed(f, web), Names{"c"});
  EXPECT_EQ(why(f, web, a), "insufficient cpu");  // 400 left
  EXPECT_EQ(why(f, web, b), "insufficient memory");
  // Exactly what is left fits.
  EXPECT_EQ(narrowed(f, task("web", 400, kGiB)), (Names{"a", "b", "c"}));
}

TEST_F(ResourceFilterTest, ZeroRequestsFitAnywhere) {
  add(node("empty", {}, 0, 0));
  ResourceFilter f;
  EXPECT_EQ(narrowed(f, task("web", 0, 0)), Names{"empty"});
  EXPECT_EQ(narrowed(f, task("web", 1, 0)), Names{});
}

}  // namespace
}  // namespace berth::scheduler
