#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <map>

#include "scheduler/testing.h"

namespace berth::scheduler {
namespace {

using testing::kGiB;
using testing::node;
using testing::rule;
using testing::task;
using Kind = Selector::Kind;

class SchedulerTest : public ::testing::Test {
 protected:
  void add(NodeSpec n) { ASSERT_TRUE(s_.addNode(std::move(n)).ok()); }
  Plan run(TaskSpec t, int replicas, Mode mode = Mode::kReplicated) {
    ServiceSpec svc{std::move(t), mode, replicas};
    auto plan = s_.schedule(svc);
    EXPECT_TRUE(plan.ok()) << plan.error().message();
    return plan.ok() ? *plan : Plan{};
  }
  std::string nodeOf(const std::string& task_id) {
    auto t = s_.cluster().findTask(task_id);
    return t ? s_.cluster().node(s_.cluster().task(*t).node).name : "";
  }
  std::map<std::string, int> perLabel(const Plan& p, const std::string& key) {
    std::map<std::string, int> out;
    for (const auto& pl : p.placed) ++out[s_.cluster().node(pl.node).labels.at(key)];
    return out;
  }
  std::map<std::string, int> perNode(const Plan& p) {
    std::map<std::string, int> out;
    for (const auto& pl : p.placed) ++out[s_.cluster().node(pl.node).name];
    return out;
  }
  Scheduler s_{42};
};

TEST_F(SchedulerTest, SpreadPutsThirtyTasksOverThreeZonesTenEach) {
  // Uneven zones: least-busy alone would follow the node count (1:3:5).
  add(node("e1", {{"zone", "east"}}));
  for (int i = 0; i < 3; ++i) add(node("w" + std::to_string(i), {{"zone", "west"}}));
  for (int i = 0; i < 5; ++i) add(node("s" + std::to_string(i), {{"zone", "south"}}));
  TaskSpec t = task("web");
  t.spread.push_back({"zone", {}});
  Plan p = run(t, 30);
  EXPECT_EQ(p.unplaced.size(), 0u);
  EXPECT_EQ(perLabel(p, "zone"),
            (std::map<std::string, int>{{"east", 10}, {"south", 10}, {"west", 10}}));
}

TEST_F(SchedulerTest, SpreadWeightsShareTasksInProportion) {
  add(node("e1", {{"zone", "east"}}));
  add(node("w1", {{"zone", "west"}}));
  TaskSpec t = task("web");
  t.spread.push_back({"zone", {{"east", 3}}});
  Plan p = run(t, 20);
  EXPECT_EQ(perLabel(p, "zone"), (std::map<std::string, int>{{"east", 15}, {"west", 5}}));
}

TEST_F(SchedulerTest, BinpackFillsOneNodeBeforeTheNext) {
  for (const char* n : {"a", "b", "c"}) add(node(n, {}, 1000, 8 * kGiB));
  TaskSpec t = task("batch", 250, kGiB / 8);
  t.strategy = Strategy::kBinpack;
  Plan p = run(t, 6);
  ASSERT_EQ(p.placed.size(), 6u);
  // The first four fill one node; the next two start a second; the third stays empty.
  std::string first = nodeOf("batch.1");
  for (int i = 2; i <= 4; ++i) EXPECT_EQ(nodeOf("batch." + std::to_string(i)), first);
  std::string second = nodeOf("batch.5");
  EXPECT_NE(second, first);
  EXPECT_EQ(nodeOf("batch.6"), second);
  EXPECT_EQ(perNode(p).size(), 2u);
}

TEST_F(SchedulerTest, BinpackFillsOneNodeBeforeTheNextWhenWalkingLoadBuckets) {
  // Past the direct-scan size the picker walks load buckets and skips dead ones: a full
  // node's bucket dies, the bucket a placement lands in comes alive.
  for (int i = 0; i < 300; ++i) add(node("n" + std::to_string(i), {}, 1000, 8 * kGiB));
  TaskSpec t = task("batch", 250, kGiB / 8);
  t.strategy = Strategy::kBinpack;
  Plan p = run(t, 10);
  auto counts = perNode(p);
  ASSERT_EQ(counts.size(), 3u);
  std::vector<int> sizes;
  for (const auto& [_, c] : counts) sizes.push_back(c);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int>{2, 4, 4}));
  EXPECT_EQ(nodeOf("batch.1"), nodeOf("batch.4"));
  EXPECT_EQ(nodeOf("batch.5"), nodeOf("batch.8"));
}

TEST_F(SchedulerTest, BinpackComesBackToABucketItFoundFullEarlier) {
  // a is 60% busy and too full for the batch: its bucket dies. The node the batch fills
  // reaches 60% too, and must still be found there.
  add(node("a", {}, 1000, 8 * kGiB));
  for (int i = 0; i < 299; ++i) add(node("n" + std::to_string(i), {}, 5000, 64 * kGiB));
  TaskSpec pin = task("pin", 600, kGiB / 8);
  pin.constraints.push_back(*parseConstraint("node.hostname==a"));
  run(pin, 1);
  TaskSpec t = task("batch", 500, kGiB / 8);
  t.strategy = Strategy::kBinpack;
  Plan p = run(t, 10);
  EXPECT_EQ(perNode(p).size(), 1u);  // 10 x 500 fill one 5000 node
}

TEST_F(SchedulerTest, SpreadStrategyUsesTheLeastBusyNodes) {
  for (const char* n : {"a", "b", "c"}) add(node(n));
  Plan p = run(task("web"), 9);
  EXPECT_EQ(perNode(p), (std::map<std::string, int>{{"a", 3}, {"b", 3}, {"c", 3}}));
}

TEST_F(SchedulerTest, AntiAffinityOnAServicePutsNoTwoOnOneNode) {
  for (int i = 0; i < 5; ++i) add(node("n" + std::to_string(i)));
  TaskSpec t = task("db");
  t.affinities.push_back(rule(Kind::kService, "db", "", /*anti=*/true));
  Plan p = run(t, 6);
  EXPECT_EQ(p.placed.size(), 5u);
  EXPECT_EQ(perNode(p).size(), 5u);
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].task_id, "db.6");
  EXPECT_EQ(p.unplaced[0].reason, "0/5 nodes: 5 task of service 'db' on the node");
}

TEST_F(SchedulerTest, AffinityToACacheTaskFollowsIt) {
  for (int i = 0; i < 6; ++i) add(node("n" + std::to_string(i)));
  run(task("filler"), 7);  // make the nodes unequal
  Plan cache = run(task("cache"), 1);
  ASSERT_EQ(cache.placed.size(), 1u);
  std::string where = nodeOf("cache.1");
  TaskSpec by_name = task("app");
  by_name.affinities.push_back(rule(Kind::kTask, "cache.1"));
  TaskSpec by_service = task("api");
  by_service.affinities.push_back(rule(Kind::kService, "cache"));
  Plan a = run(by_name, 3);
  Plan b = run(by_service, 2);
  for (const auto& pl : a.placed) EXPECT_EQ(s_.cluster().node(pl.node).name, where);
  for (const auto& pl : b.placed) EXPECT_EQ(s_.cluster().node(pl.node).name, where);
  EXPECT_EQ(a.placed.size() + b.placed.size(), 5u);
}

TEST_F(SchedulerTest, NotWithANamedTaskAvoidsItsNode) {
  add(node("a"));
  add(node("b"));
  run(task("cache"), 1);
  TaskSpec t = task("noisy");
  t.affinities.push_back(rule(Kind::kTask, "cache.1", "", /*anti=*/true));
  Plan p = run(t, 4);
  for (const auto& pl : p.placed) EXPECT_NE(s_.cluster().node(pl.node).name, nodeOf("cache.1"));
  EXPECT_EQ(p.placed.size(), 4u);
}

TEST_F(SchedulerTest, APortClashKeepsTwoTasksApart) {
  add(node("a"));
  add(node("b"));
  TaskSpec web = task("web");
  web.host_ports = {80};
  TaskSpec proxy = task("proxy");
  proxy.host_ports = {80, 443};
  EXPECT_EQ(run(web, 1).placed.size(), 1u);
  Plan p = run(proxy, 2);
  ASSERT_EQ(p.placed.size(), 1u);
  EXPECT_NE(nodeOf("proxy.1"), nodeOf("web.1"));
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].reason, "0/2 nodes: 2 port 80 taken");
}

TEST_F(SchedulerTest, MaxReplicasPerNode) {
  add(node("a"));
  add(node("b"));
  TaskSpec t = task("web");
  t.max_per_node = 2;
  t.strategy = Strategy::kBinpack;
  Plan p = run(t, 5);
  EXPECT_EQ(perNode(p), (std::map<std::string, int>{{"a", 2}, {"b", 2}}));
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].reason, "0/2 nodes: 2 max 2 tasks of service 'web' per node");
}

TEST_F(SchedulerTest, SoftAffinityPrefersButDoesNotRequire) {
  add(node("a", {}, 1000));
  add(node("b", {}, 1000));
  run(task("cache", 100), 1);
  std::string where = nodeOf("cache.1");
  TaskSpec t = task("web", 300);
  auto near = rule(Kind::kService, "cache", "", false, /*hard=*/false);
  near.weight = 3;
  t.affinities.push_back(near);
  Plan p = run(t, 5);
  EXPECT_EQ(p.placed.size(), 5u);
  // Three fit beside the cache (100 + 3 x 300 = 1000); the others go to the other node.
  EXPECT_EQ(perNode(p)[where], 3);
}

TEST_F(SchedulerTest, ANodeDownMovesItsTasksAndNothingElse) {
  for (int i = 0; i < 4; ++i)
    add(node("n" + std::to_string(i), {{"zone", i < 2 ? "east" : "west"}}));
  TaskSpec web = task("web");
  web.spread.push_back({"zone", {}});
  run(web, 12);
  run(task("db"), 5);
  std::map<std::string, std::string> before;
  for (TaskIndex t = 0; t < s_.cluster().taskSlots(); ++t)
    if (s_.cluster().task(t).live)
      before[s_.cluster().task(t).id] = nodeOf(s_.cluster().task(t).id);
  std::set<std::string> lost;
  for (TaskIndex t : s_.cluster().tasksOn(*s_.cluster().findNode("n1")))
    lost.insert(s_.cluster().task(t).id);
  ASSERT_FALSE(lost.empty());

  auto plan = s_.setNodeState("n1", NodeState::kDown);
  ASSERT_TRUE(plan.ok());
  std::set<std::string> moved;
  for (const auto& p : plan->placed) moved.insert(p.task_id);
  EXPECT_EQ(moved, lost);  // the same ids, placed again
  EXPECT_TRUE(plan->unplaced.empty());
  for (const auto& [id, node] : before) {
    if (lost.count(id))
      EXPECT_NE(nodeOf(id), "n1") << id;
    else
      EXPECT_EQ(nodeOf(id), node) << id << " moved though its node is up";
  }
  EXPECT_EQ(s_.cluster().taskCount(*s_.cluster().findNode("n1")), 0);
}

TEST_F(SchedulerTest, AMovedTaskStaysInTheZoneItsDependentsNeed) {
  add(node("e1", {{"zone", "east"}}));
  add(node("e2", {{"zone", "east"}}));
  run(task("cache"), 1);
  std::string first = nodeOf("cache.1");
  std::string other = first == "e1" ? "e2" : "e1";
  TaskSpec web = task("web");
  web.affinities.push_back(rule(Kind::kService, "cache", "zone"));
  run(web, 2);
  TaskSpec filler = task("filler");
  filler.constraints.push_back(*parseConstraint("node.hostname==" + other));
  run(filler, 3);
  // Empty west nodes join: least-busy alone would move the cache there, out of web's zone.
  for (int i = 0; i < 4; ++i) add(node("w" + std::to_string(i), {{"zone", "west"}}));
  auto plan = s_.setNodeState(first, NodeState::kDown);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(nodeOf("cache.1"), other);
}

TEST_F(SchedulerTest, DrainingTakesNothingNewAndKeepsWhatItHas) {
  add(node("a"));
  add(node("b"));
  run(task("web"), 2);
  ASSERT_TRUE(s_.setNodeState("a", NodeState::kDraining).ok());
  EXPECT_EQ(s_.cluster().taskCount(*s_.cluster().findNode("a")), 1);
  Plan p = run(task("api"), 3);
  EXPECT_EQ(perNode(p), (std::map<std::string, int>{{"b", 3}}));
}

TEST_F(SchedulerTest, GlobalModeFollowsNodesJoiningAndLeaving) {
  add(node("a", {{"zone", "east"}}));
  add(node("b", {{"zone", "west"}}));
  NodeSpec m = node("m", {{"zone", "east"}});
  m.role = "manager";
  add(m);
  TaskSpec agent = task("agent");
  agent.constraints.push_back(*parseConstraint("node.role!=manager"));
  Plan p = run(agent, 0, Mode::kGlobal);
  EXPECT_EQ(perNode(p), (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
  EXPECT_EQ(nodeOf("agent.a"), "a");
  // Scheduling it again adds nothing.
  EXPECT_TRUE(run(agent, 0, Mode::kGlobal).placed.empty());

  auto joined = s_.addNode(node("c"));
  ASSERT_TRUE(joined.ok());
  ASSERT_EQ(joined->placed.size(), 1u);
  EXPECT_EQ(joined->placed[0].task_id, "agent.c");

  auto down = s_.setNodeState("b", NodeState::kDown);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->removed, std::vector<std::string>{"agent.b"});
  EXPECT_TRUE(down->placed.empty());  // not moved elsewhere
  auto back = s_.setNodeState("b", NodeState::kReady);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->placed.size(), 1u);
  EXPECT_EQ(nodeOf("agent.b"), "b");
}

TEST_F(SchedulerTest, GlobalModeReportsAnEligibleNodeWithoutRoom) {
  add(node("a", {}, 4000));
  add(node("small", {}, 100));
  Plan p = run(task("agent", 500), 0, Mode::kGlobal);
  EXPECT_EQ(p.placed.size(), 1u);
  ASSERT_EQ(p.unplaced.size(), 1u);
  EXPECT_EQ(p.unplaced[0].task_id, "agent.small");
  EXPECT_EQ(p.unplaced[0].reason, "node 'small': insufficient cpu");
}

TEST_F(SchedulerTest, ExplanationCountsEveryNodeUnderItsFirstReason) {
  add(node("e1", {{"zone", "east"}}, 4000, kGiB));
  add(node("e2", {{"zone", "east"}}, 4000, kGiB));
  add(node("e3", {{"zone", "east"}}, 4000, kGiB));
  add(node("e4", {{"zone", "east"}}, 4000, 8 * kGiB));
  add(node("w1", {{"zone", "west"}}, 4000, 8 * kGiB));
  add(node("d1", {{"zone", "east"}}));
  ASSERT_TRUE(s_.setNodeState("d1", NodeState::kDown).ok());
  TaskSpec holder = task("lb");
  holder.host_ports = {80};
  holder.constraints.push_back(*parseConstraint("node.hostname==e4"));
  run(holder, 1);
  TaskSpec t = task("web", 100, 2 * kGiB);
  t.host_ports = {80};
  t.constraints.push_back(*parseConstraint("node.labels.zone==east"));
  Plan p = run(t, 2);
  ASSERT_EQ(p.unplaced.size(), 2u);
  std::string want =
      "0/6 nodes: 3 insufficient memory, 1 label zone!=east, 1 node down, 1 port 80 taken";
  EXPECT_EQ(p.unplaced[0].reason, want);
  EXPECT_EQ(p.unplaced[1].reason, want);
}

TEST_F(SchedulerTest, TheSameSeedGivesTheSamePlan) {
  auto place = [](uint64_t seed) {
    Scheduler s(seed);
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(s.addNode(node("n" + std::to_string(i))).ok());
    TaskSpec t = task("web");
    t.strategy = Strategy::kRandom;
    auto p = s.schedule({t, Mode::kReplicated, 30});
    std::vector<NodeId> nodes;
    for (const auto& pl : p->placed) nodes.push_back(pl.node);
    return nodes;
  };
  EXPECT_EQ(place(7), place(7));
  EXPECT_NE(place(7), place(8));
}

TEST_F(SchedulerTest, RefusesMalformedSpecsAndPlacesNothing) {
  add(node("a"));
  auto bad = [&](auto edit, const std::string& want) {
    ServiceSpec s{task("web"), Mode::kReplicated, 1};
    edit(s);
    auto p = s_.schedule(s);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(p.error().message().find(want), std::string::npos) << p.error().message();
  };
  bad([](ServiceSpec& s) { s.task.service = ""; }, "empty name");
  bad([](ServiceSpec& s) { s.replicas = -1; }, "negative replica count");
  bad([](ServiceSpec& s) { s.task.host_ports = {80, 80}; }, "host port 80 listed twice");
  bad([](ServiceSpec& s) { s.task.request.memory = -1; }, "negative resource request");
  bad([](ServiceSpec& s) { s.task.affinities.push_back(rule(Kind::kLabel, "tier")); },
      "label target 'tier' has no value");
  bad([](ServiceSpec& s) { s.task.spread.push_back({"", {}}); }, "spread rule without a label");
  bad(
      [](ServiceSpec& s) {
        for (int i = 0; i < 9; ++i)
          s.task.affinities.push_back(rule(Kind::kService, "x", "", false, false));
      },
      "9 soft affinity rules, at most 8");
  EXPECT_EQ(s_.cluster().taskSlots(), 0u);
  EXPECT_EQ(s_.addNode(node("a")).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s_.setNodeState("zz", NodeState::kDown).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::scheduler

namespace berth::scheduler {
namespace {

TEST(SchedulerRestoreTest, NewReplicasNeverReuseARestoredId) {
  Scheduler s;
  ASSERT_TRUE(s.addNode(testing::node("a")).ok());
  auto spec = std::make_shared<const TaskSpec>(testing::task("web"));
  ASSERT_TRUE(s.restore("web.2", spec, "a").ok());
  EXPECT_EQ(s.restore("web.2", spec, "a").error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.restore("web.3", spec, "zz").error().code(), ErrorCode::kNotFound);
  auto plan = s.schedule({testing::task("web"), Mode::kReplicated, 2});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->placed.size(), 2u);
  EXPECT_EQ(plan->placed[0].task_id, "web.1");
  EXPECT_EQ(plan->placed[1].task_id, "web.3");
}

}  // namespace
}  // namespace berth::scheduler
