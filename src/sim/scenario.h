#pragma once
// A simulator scenario: a generated or listed cluster, a generated or listed workload,
// and nodes to fail afterwards. Read from JSON (nlohmann) by parseScenario; every field
// is optional. Format (version 1):
//   {
//     "seed": 1,
//     "cluster": {"nodes": 1000, "zones": 10, "racks": 100, "managers": 3,
//                 "cpu": [16000, 64000], "memory_gib": [64, 256], "max_tasks": 250,
//                 "ssd_percent": 50},
//     "workload": {"services": 1000, "tasks": 100000, "constraint_percent": 30,
//                  "anti_affinity_percent": 10, "affinity_percent": 10,
//                  "spread_percent": 20, "port_percent": 2, "global_services": 0,
//                  "strategy": "spread", "cpu": [50, 500], "memory_mib": [64, 1024]},
//     "nodes": [{"name": "a", "role": "worker", "labels": {"zone": "east"},
//                "cpu": 4000, "memory_mib": 8192, "max_tasks": 0, "state": "ready"}],
//     "services": [{"name": "web", "replicas": 3, "mode": "replicated",
//                   "cpu": 100, "memory_mib": 64, "ports": [80], "labels": {"tier": "web"},
//                   "constraints": ["node.labels.zone==east"], "max_per_node": 1,
//                   "strategy": "spread",
//                   "affinity": [{"service": "cache" | "label": "k=v" | "task": "id",
//                                 "scope": "zone", "anti": false, "hard": true,
//                                 "weight": 1}],
//                   "spread": [{"label": "zone", "weights": {"east": 2}}]}],
//     "down": 10
//   }
// Listed nodes and services come after generated ones; listing nodes (services) without
// a "cluster" ("workload") object means only the listed ones. "down": how many nodes (every
// cluster.nodes/down-th one) fail after placement.

#include <string_view>
#include <vector>

#include "common/result.h"
#include "scheduler/model.h"
#include "sim/workload.h"

namespace berth::sim {

struct Scenario {
  uint64_t seed = 1;
  ClusterParams cluster;
  WorkloadParams workload;
  std::vector<sched::NodeSpec> nodes;
  std::vector<sched::ServiceSpec> services;
  size_t down = 0;
};

// Errors: invalid argument, naming the field ("services[2].affinity[0]: ...").
Result<Scenario> parseScenario(std::string_view json);

}  // namespace berth::sim
