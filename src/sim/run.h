#pragma once
// Runs a scenario through the scheduler and measures it: placement rate, per-task
// latency, utilisation and balance, unplaced tasks by reason, what a node failure moves,
// and the independent checker's verdict.

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "scheduler/cluster.h"
#include "sim/checker.h"
#include "sim/scenario.h"

namespace berth::sim {

struct Report {
  size_t nodes = 0, services = 0, requested = 0, placed = 0, unplaced = 0;
  double seconds = 0;      // scheduling only (not generating or checking), wall clock
  double cpu_seconds = 0;  // the same span in this process's CPU time: on a shared
                           // machine, what the scheduling itself cost
  double p50_us = 0, p99_us = 0, max_us = 0;
  double cpu_percent = 0, memory_percent = 0;           // allocated / capacity, ready nodes
  double tasks_per_node = 0, node_stddev = 0;           // tasks per ready node
  double zone_stddev = 0;                               // tasks per zone
  std::vector<std::pair<std::string, size_t>> reasons;  // unplaced tasks per reason
  // After placement, `down` nodes fail:
  size_t down = 0, lost = 0, moved = 0, others_moved = 0, lost_unplaced = 0;
  double down_seconds = 0;
  bool checked = false;
  CheckResult check;       // right after placement: must be 0
  CheckResult after_down;  // after the failures (a task whose hard affinity target
                           // moved off a failed node stays put, so it can break)
};

// The scheduler's current picture as plain data for the checker (node i = NodeId i).
Assignment snapshot(const sched::Cluster& c);

// Errors: a node or service the scheduler refuses (invalid spec, duplicate name).
Result<Report> runScenario(const Scenario& s, bool check);
std::string formatReport(const Report& r);

}  // namespace berth::sim
