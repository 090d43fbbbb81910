#include "sim/scenario.h"

#include <gtest/gtest.h>

#include "sim/run.h"

namespace berth::sim {
namespace {

TEST(ScenarioTest, ReadsListedNodesAndServices) {
  auto s = parseScenario(R"({
    "seed": 9,
    "nodes": [{"name": "a", "labels": {"zone": "east"}, "cpu": 2000, "memory_mib": 1024},
              {"name": "b", "role": "manager", "cpu": 2000, "memory_mib": 1024, "state": "draining"}],
    "services": [{"name": "cache", "replicas": 1, "cpu": 100, "memory_mib": 64},
                 {"name": "web", "replicas": 2, "ports": [80], "labels": {"tier": "web"},
                  "constraints": ["node.labels.zone==east"], "max_per_node": 2,
                  "strategy": "binpack",
                  "affinity": [{"service": "cache", "scope": "zone"},
                               {"label": "tier=db", "anti": true, "hard": false, "weight": 3}],
                  "spread": [{"label": "zone", "weights": {"east": 2}}]}],
    "down": 1
  })");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->seed, 9u);
  EXPECT_EQ(s->cluster.nodes, 0u);  // only the listed ones
  EXPECT_EQ(s->workload.services, 0u);
  ASSERT_EQ(s->nodes.size(), 2u);
  EXPECT_EQ(s->nodes[1].state, scheduler::NodeState::kDraining);
  EXPECT_EQ(s->nodes[0].capacity.memory, int64_t{1} << 30);
  ASSERT_EQ(s->services.size(), 2u);
  const auto& web = s->services[1].task;
  EXPECT_EQ(web.host_ports, std::vector<uint16_t>{80});
  EXPECT_EQ(web.strategy, scheduler::Strategy::kBinpack);
  ASSERT_EQ(web.affinities.size(), 2u);
  EXPECT_EQ(web.affinities[0].scope, "zone");
  EXPECT_EQ(web.affinities[1].target.kind, scheduler::Selector::Kind::kLabel);
  EXPECT_EQ(web.affinities[1].target.value, "db");
  EXPECT_FALSE(web.affinities[1].hard);
  EXPECT_EQ(web.spread[0].weights.at("east"), 2);

  auto report = runScenario(*s, true);
  ASSERT_TRUE(report.ok()) << report.error().message();
  // web's port 80 fits once on the one ready node in east: cache.1 and web.1 placed.
  EXPECT_EQ(report->placed, 2u);
  EXPECT_EQ(report->unplaced, 1u);
  EXPECT_EQ(report->check.violations, 0u);
}

TEST(ScenarioTest, ErrorsNameTheField) {
  auto error = [](const char* text) {
    auto s = parseScenario(text);
    EXPECT_FALSE(s.ok()) << text;
    return s.ok() ? std::string() : s.error().message();
  };
  EXPECT_EQ(error("{"), "scenario: not valid JSON");
  EXPECT_NE(error(R"({"cluster": {"nodes": "many"}})").find("cluster.nodes"), std::string::npos);
  EXPECT_NE(error(R"({"services": [{"name": "w", "constraints": ["zone==east"]}]})")
                .find("services[0].constraints[0]: constraint 'zone==east': unknown key"),
            std::string::npos);
  EXPECT_NE(error(R"({"services": [{"name": "w", "affinity": [{"service": "a", "task": "b"}]}]})")
                .find("services[0].affinity[0]: give exactly one of service, label, task"),
            std::string::npos);
  EXPECT_NE(error(R"({"workload": {"strategy": "fastest"}})").find("unknown strategy 'fastest'"),
            std::string::npos);
  EXPECT_NE(error(R"({"nodes": [{"name": "a", "state": "gone"}]})").find("nodes[0].state"),
            std::string::npos);
  EXPECT_NE(error(R"({"cluster": {"cpu": [5, 1]}})").find("cluster.cpu: expected [min, max]"),
            std::string::npos);
}

TEST(ScenarioTest, ASmallGeneratedRunHasNoViolationAndMovesNothingElse) {
  Scenario s;
  s.cluster.nodes = 200;
  s.cluster.racks = 20;
  s.workload.services = 200;
  s.workload.tasks = 10000;
  s.workload.global_services = 2;
  s.down = 5;
  auto r = runScenario(s, true);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->check.violations, 0u);
  // Two global services: one on every node, one on every node but the 3 managers.
  EXPECT_EQ(r->placed + r->unplaced, 10000u + 200 + 197);
  EXPECT_EQ(r->down, 5u);
  EXPECT_EQ(r->others_moved, 0u);
}

}  // namespace
}  // namespace berth::sim
