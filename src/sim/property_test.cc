// Property tests: random clusters and workloads, judged by the simulator's independent
// checker and, on small clusters, by a brute-force reference.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "scheduler/scheduler.h"
#include "sim/checker.h"
#include "sim/run.h"

namespace berth::sim {
namespace {

using namespace berth::scheduler;  // NOLINT: test brevity
using Kind = Selector::Kind;

constexpr int64_t kMiB = int64_t{1} << 20;

class Random {
 public:
  explicit Random(uint64_t seed) : gen_(seed) {}
  int between(int lo, int hi) { return lo + static_cast<int>(gen_() % (hi - lo + 1)); }
  bool chance(int percent) { return between(0, 99) < percent; }
  template <typename T>
  const T& of(const std::vector<T>& v) {
    return v[between(0, static_cast<int>(v.size()) - 1)];
  }

 private:
  std::mt19937_64 gen_;
};

const std::vector<std::string> kZones = {"east", "west", "south"};
const std::vector<std::string> kRacks = {"r1", "r2", "r3", "r4", "r5"};
const std::vector<std::string> kTiers = {"web", "db", "cache"};

std::vector<NodeSpec> randomNodes(Random& r, int count) {
  std::vector<NodeSpec> nodes;
  for (int i = 0; i < count; ++i) {
    NodeSpec n;
    n.name = "n" + std::to_string(i);
    n.role = i == 0 ? "manager" : "worker";
    if (r.chance(90)) n.labels["zone"] = r.of(kZones);
    n.labels["rack"] = r.of(kRacks);
    if (r.chance(50)) n.labels["disk"] = "ssd";
    n.capacity = {r.between(1, 8) * 1000, r.between(1, 8) * 512 * kMiB};
    n.max_tasks = r.chance(30) ? r.between(2, 10) : 0;
    if (r.chance(10)) n.state = r.chance(50) ? NodeState::kDraining : NodeState::kDown;
    nodes.push_back(std::move(n));
  }
  return nodes;
}

// A service with a random mix of every kind of rule. `earlier` names services already
// scheduled; a label target is never one of the service's own labels (see checker.h on
// the first task of a self-affine service).
TaskSpec randomTask(Random& r, const std::string& name, const std::vector<std::string>& earlier,
                    bool allow_hard_affinity) {
  TaskSpec t;
  t.service = name;
  std::string tier = r.of(kTiers);
  t.labels["tier"] = tier;
  t.request = {r.between(0, 10) * 100, r.between(0, 8) * 128 * kMiB};
  t.strategy =
      r.of(std::vector<Strategy>{Strategy::kSpread, Strategy::kBinpack, Strategy::kRandom});
  if (r.chance(20)) t.host_ports.push_back(static_cast<uint16_t>(r.between(80, 82)));
  if (r.chance(15)) t.max_per_node = r.between(1, 3);
  if (r.chance(30)) {
    static const std::vector<std::string> constraints = {
        "node.labels.zone==east",           "node.labels.zone!=west",
        "node.labels.zone in (east,south)", "node.labels.rack not in (r1,r2)",
        "node.labels.disk exists",          "node.role!=manager"};
    t.constraints.push_back(*parseConstraint(r.of(constraints)));
  }
  int rules = r.chance(50) ? r.between(1, 3) : 0;
  for (int i = 0; i < rules; ++i) {
    AffinityRule a;
    a.anti = r.chance(50);
    a.hard = r.chance(70);
    if (!a.anti && a.hard && !allow_hard_affinity) a.hard = false;
    a.weight = r.between(1, 5);
    a.scope = r.chance(50) ? "" : r.chance(50) ? "zone" : "rack";
    int kind = r.between(0, 2);
    if (kind == 0 || earlier.empty()) {
      a.target = {Kind::kService, earlier.empty() || r.chance(40) ? name : r.of(earlier), ""};
    } else if (kind == 1) {
      std::string other;
      do other = r.of(kTiers);
      while (other == tier);
      a.target = {Kind::kLabel, "tier", other};
    } else {
      a.target = {Kind::kTask, r.of(earlier) + ".1", ""};
    }
    t.affinities.push_back(a);
  }
  if (r.chance(25)) {
    SpreadRule s{r.chance(70) ? "zone" : "rack", {}};
    if (r.chance(50)) s.weights["east"] = r.between(0, 3);
    t.spread.push_back(s);
  }
  return t;
}

std::string explainViolations(const CheckResult& c) {
  std::string out;
  for (const auto& e : c.examples) out += "\n  " + e;
  return out;
}

TEST(PropertyTest, NoHardRuleOrCapacityIsEverViolated) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Random r(seed);
    Scheduler s(seed);
    for (auto& n : randomNodes(r, r.between(5, 40))) ASSERT_TRUE(s.addNode(n).ok());
    std::vector<std::string> names;
    size_t placed = 0;
    for (int i = 0; i < r.between(5, 30); ++i) {
      std::string name = "s" + std::to_string(i);
      ServiceSpec svc{randomTask(r, name, names, true), Mode::kReplicated, r.between(1, 15)};
      if (r.chance(10)) svc.mode = Mode::kGlobal;
      auto plan = s.schedule(svc);
      ASSERT_TRUE(plan.ok()) << plan.error().message();
      placed += plan->placed.size();
      names.push_back(name);
    }
    auto result = check(snapshot(s.cluster()));
    EXPECT_EQ(result.violations, 0u) << "seed " << seed << explainViolations(result);
    EXPECT_GT(placed, 0u) << "seed " << seed;
  }
}

TEST(PropertyTest, ANodeDownMovesOnlyItsTasksAndBreaksNoRule) {
  // Without hard affinity: a task that stays put keeps its other rules whatever moves.
  for (uint64_t seed = 100; seed < 140; ++seed) {
    Random r(seed);
    Scheduler s(seed);
    auto nodes = randomNodes(r, r.between(5, 30));
    for (auto& n : nodes) n.state = NodeState::kReady;
    for (auto& n : nodes) ASSERT_TRUE(s.addNode(n).ok());
    std::vector<std::string> names;
    for (int i = 0; i < r.between(5, 20); ++i) {
      std::string name = "s" + std::to_string(i);
      ServiceSpec svc{randomTask(r, name, names, false), Mode::kReplicated, r.between(1, 10)};
      if (r.chance(10)) svc.mode = Mode::kGlobal;
      ASSERT_TRUE(s.schedule(svc).ok());
      names.push_back(name);
    }
    std::map<std::string, NodeId> before;
    const Cluster& c = s.cluster();
    for (TaskIndex t = 0; t < c.taskSlots(); ++t)
      if (c.task(t).live) before[c.task(t).id] = c.task(t).node;
    NodeId down = static_cast<NodeId>(r.between(0, static_cast<int>(nodes.size()) - 1));
    auto plan = s.setNodeState(nodes[down].name, NodeState::kDown);
    ASSERT_TRUE(plan.ok());
    std::set<std::string> gone(plan->removed.begin(), plan->removed.end());
    for (const auto& u : plan->unplaced) gone.insert(u.task_id);
    for (const auto& [id, node] : before) {
      auto t = c.findTask(id);
      if (node != down) {
        ASSERT_TRUE(t.has_value()) << "seed " << seed << ": " << id << " vanished";
        EXPECT_EQ(c.task(*t).node, node) << "seed " << seed << ": " << id << " moved";
      } else {
        EXPECT_TRUE(gone.count(id) || (t && c.task(*t).node != down))
            << "seed " << seed << ": " << id;
      }
    }
    auto result = check(snapshot(c));
    EXPECT_EQ(result.violations, 0u) << "seed " << seed << explainViolations(result);
  }
}

TEST(PropertyTest, GlobalModeGivesExactlyOneTaskOnEachEligibleNode) {
  for (uint64_t seed = 200; seed < 240; ++seed) {
    Random r(seed);
    Scheduler s(seed);
    auto nodes = randomNodes(r, r.between(3, 40));
    for (auto& n : nodes) {
      n.capacity = {64000, 64 * 1024 * kMiB};
      n.max_tasks = 0;
      ASSERT_TRUE(s.addNode(n).ok());
    }
    ASSERT_TRUE(s.schedule({randomTask(r, "busy", {}, false), Mode::kReplicated, 20}).ok());
    TaskSpec agent;
    agent.service = "agent";
    agent.request = {10, kMiB};
    static const std::vector<std::string> constraints = {
        "node.labels.zone==east", "node.labels.disk exists", "node.role!=manager",
        "node.labels.rack in (r1,r3)"};
    std::optional<Constraint> con;
    if (r.chance(70)) agent.constraints.push_back(*(con = *parseConstraint(r.of(constraints))));
    ASSERT_TRUE(s.schedule({agent, Mode::kGlobal, 0}).ok());
    // Nodes join later; some nodes go down and come back.
    for (int j = 0; j < 3; ++j) {
      NodeSpec n = randomNodes(r, 1)[0];
      n.name = "late" + std::to_string(j);
      n.capacity = {64000, 64 * 1024 * kMiB};
      n.max_tasks = 0;
      nodes.push_back(n);
      ASSERT_TRUE(s.addNode(n).ok());
    }
    NodeId flap = static_cast<NodeId>(r.between(0, static_cast<int>(nodes.size()) - 1));
    ASSERT_TRUE(s.setNodeState(nodes[flap].name, NodeState::kDown).ok());
    if (r.chance(50)) {
      ASSERT_TRUE(s.setNodeState(nodes[flap].name, NodeState::kReady).ok());
    }
    // Eligible, decided here from the node's own fields.
    const Cluster& c = s.cluster();
    for (NodeId n = 0; n < c.nodeCount(); ++n) {
      const NodeSpec& node = c.node(n);
      bool eligible = node.state == NodeState::kReady;
      if (eligible && con) {
        const std::string* v = nullptr;
        if (con->key == "node.role") {
          v = &node.role;
        } else {
          auto it = node.labels.find(con->key.substr(std::string("node.labels.").size()));
          if (it != node.labels.end()) v = &it->second;
        }
        bool listed = v && std::count(con->values.begin(), con->values.end(), *v);
        eligible = con->op == ConstraintOp::kNe || con->op == ConstraintOp::kNotIn ? !listed
                   : con->op == ConstraintOp::kExists                              ? v != nullptr
                                                                                   : listed;
      }
      int count = 0;
      for (TaskIndex t : c.tasksOn(n)) count += c.task(t).spec->service == "agent";
      EXPECT_EQ(count, eligible ? 1 : 0) << "seed " << seed << " node " << node.name;
    }
  }
}

// Each task's outcome against the brute-force reference on the state just before it.
void expectMatchesReference(Assignment& state, const std::shared_ptr<const TaskSpec>& spec,
                            const Plan& plan, const Cluster& c, uint64_t seed) {
  std::map<int64_t, std::pair<std::string, std::optional<NodeId>>> in_order;  // by replica no.
  auto number = [](const std::string& id) { return std::stoll(id.substr(id.rfind('.') + 1)); };
  for (const auto& p : plan.placed) in_order[number(p.task_id)] = {p.task_id, p.node};
  for (const auto& u : plan.unplaced) in_order[number(u.task_id)] = {u.task_id, std::nullopt};
  for (const auto& [_, outcome] : in_order) {
    const auto& [id, node] = outcome;
    auto feasible = feasibleNodes(state, spec, id);
    size_t any = std::count(feasible.begin(), feasible.end(), true);
    if (node) {
      EXPECT_TRUE(feasible[*node])
          << "seed " << seed << ": " << id << " on infeasible " << c.node(*node).name;
      state.tasks.push_back({id, spec, *node});
    } else {
      EXPECT_EQ(any, 0u) << "seed " << seed << ": " << id << " left unplaced though " << any
                         << " nodes would take it";
    }
  }
}

TEST(PropertyTest, OnSmallClustersFeasibilityMatchesBruteForce) {
  for (uint64_t seed = 300; seed < 380; ++seed) {
    Random r(seed);
    Scheduler s(seed);
    for (auto& n : randomNodes(r, r.between(2, 8))) ASSERT_TRUE(s.addNode(n).ok());
    std::vector<std::string> names;
    for (int i = 0; i < r.between(3, 12); ++i) {
      std::string name = "s" + std::to_string(i);
      ServiceSpec svc{randomTask(r, name, names, true), Mode::kReplicated, r.between(1, 6)};
      Assignment state = snapshot(s.cluster());
      auto plan = s.schedule(svc);
      ASSERT_TRUE(plan.ok());
      std::shared_ptr<const TaskSpec> own = std::make_shared<const TaskSpec>(svc.task);
      expectMatchesReference(state, own, *plan, s.cluster(), seed);
      names.push_back(name);
    }
  }
}

}  // namespace
}  // namespace berth::sim
