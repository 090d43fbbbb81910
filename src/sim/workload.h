#pragma once
// Generated clusters and workloads for the simulator, deterministic for a seed.
//
// Cluster: nodes n00000.. in `zones` zones and `racks` racks (each rack in one zone:
// rack r, zone r % zones), label disk=ssd on a share of them, the first `managers` with
// role manager; capacities uniform in the given ranges.
// Workload: `services` services whose replica counts add up to `tasks`; each service
// gets one kind of rule, by the given percentages, the rest plain:
//   constraint:    zone==zK, zone in (three zones), zone!=zK, or disk==ssd;
//   anti-affinity: no two of its own tasks on one node (7 in 10), or never on a node
//                  with an earlier service's task;
//   affinity:      hard, same zone as an earlier service's tasks (6 in 10), or soft
//                  (weight 5), same node as them;
//   spread:        over zones, the first zone weighing 2;
//   host port:     one of 20 ports (a small share, to exercise port accounting).

#include <cstdint>
#include <vector>

#include "scheduler/model.h"

namespace berth::sim {

namespace sched = berth::scheduler;

struct ClusterParams {
  size_t nodes = 1000;
  int zones = 10;
  int racks = 100;
  int managers = 3;
  int64_t cpu_min = 16000, cpu_max = 64000;   // millicores
  int64_t memory_min = 64, memory_max = 256;  // GiB
  int32_t max_tasks = 250;
  int ssd_percent = 50;
};

struct WorkloadParams {
  size_t services = 1000;
  size_t tasks = 100000;
  int constraint_percent = 30;
  int anti_affinity_percent = 10;
  int affinity_percent = 10;
  int spread_percent = 20;
  int port_percent = 2;
  int global_services = 0;  // extra global services (one task per eligible node)
  sched::Strategy strategy = sched::Strategy::kSpread;
  int64_t cpu_min = 50, cpu_max = 500;         // millicores per task
  int64_t memory_min = 64, memory_max = 1024;  // MiB per task
};

std::vector<sched::NodeSpec> generateNodes(const ClusterParams& p, uint64_t seed);
std::vector<sched::ServiceSpec> generateServices(const WorkloadParams& w, const ClusterParams& c,
                                                 uint64_t seed);

}  // namespace berth::sim
