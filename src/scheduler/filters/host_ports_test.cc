#include "scheduler/filters/filters.h"
#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::node;
using testing::task;
using Names = std::vector<std::string>;

class HostPortFilterTest : public testing::FilterTest {};

TEST_F(HostPortFilterTest, ATakenPortKeepsTheNodeOut) {
  NodeId a = add(node("a"));
  add(node("b"));
  TaskSpec web = task("web");
  web.host_ports = {80, 443};
  TaskSpec other = task("proxy");
  other.host_ports = {443};
  put(other, "proxy.1", a);
  HostPortFilter f;
  EXPECT_EQ(narrowed(f, web), Names{"b"});
  EXPECT_EQ(why(f, web, a), "port 443 taken");
  TaskSpec elsewhere = task("api");
  elsewhere.host_ports = {8080};
  EXPECT_EQ(narrowed(f, elsewhere), (Names{"a", "b"}));
}

TEST_F(HostPortFilterTest, ThePortIsFreeAgainWhenItsTaskGoes) {
  NodeId a = add(node("a"));
  TaskSpec web = task("web");
  web.host_ports = {80};
  put(web, "web.1", a);
  HostPortFilter f;
  EXPECT_EQ(narrowed(f, web), Names{});
  cluster_.remove(*cluster_.findTask("web.1"));
  EXPECT_EQ(narrowed(f, web), Names{"a"});
}

}  // namespace
}  // namespace berth::scheduler
