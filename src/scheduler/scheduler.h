#pragma once
// The scheduler: a pure library (no I/O, no threads of its own) that decides where tasks
// run. It owns an in-memory Cluster (nodes, placed tasks, indices); each call takes specs
// in and returns a Plan, which it has already applied to that picture, so a batch's
// later tasks see its earlier ones. Deterministic: the same calls with the same seed
// give the same plans.
//
// Each batch (one service's new tasks) runs a feasibility stage (registry filters,
// narrowed once per batch through the indices, then kept current after each placement)
// and a ranking stage (tiers over a strategy, see scorers/scorer.h). Hard rules are
// exact: a task is placed only on a node every filter accepts, and is left unplaced
// only when no node does, with the count of nodes refused per reason.
//
// Not thread-safe: one thread drives it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "scheduler/cluster.h"
#include "scheduler/model.h"

namespace berth::scheduler {

class Scheduler {
 public:
  explicit Scheduler(uint64_t seed = 1) : seed_(seed) {}

  const Cluster& cluster() const { return cluster_; }

  // Adds a node. A ready node receives a task of every global service that it is
  // eligible for. Errors: invalid argument, already exists (nothing added).
  Result<Plan> addNode(NodeSpec spec);

  // Changes a node's state. Down: its replicated tasks are placed on other nodes (same
  // ids), in the node's own topology domains when they fit there (for every label key
  // some hard affinity uses as its scope, so tasks with affinity to them keep it), and
  // its global tasks stop (Plan::removed); no other task moves. Draining: takes
  // no new task and keeps the ones it has. Ready: receives its global services' tasks.
  // Errors: not found.
  Result<Plan> setNodeState(std::string_view node, NodeState s);

  // Replicated: places `replicas` new tasks, named "<service>.<n>" counting on from the
  // service's previous tasks. Global: one task "<service>.<node>" on every eligible node
  // lacking one, and the service then follows nodes as they join and come back. Errors:
  // invalid argument for a malformed spec (nothing placed).
  Result<Plan> schedule(const ServiceSpec& s);

  // Records a task that already runs (loading a snapshot), without checking its rules.
  // Errors: not found (node), already exists (task id).
  Status restore(std::string id, std::shared_ptr<const TaskSpec> spec, std::string_view node);

  // When set, each placement's time (search and bookkeeping, in microseconds; a batch's
  // first also carries the batch's narrowing) is appended here; the simulator reports
  // percentiles from it.
  void recordLatencies(std::vector<float>* sink) { latencies_ = sink; }

 private:
  // Places tasks made from spec, named ids, where the filters allow, in `prefer` when
  // some node there takes the task. Appends to plan.
  void placeBatch(const std::shared_ptr<const TaskSpec>& spec, const std::vector<std::string>& ids,
                  Plan& plan, const NodeSet* prefer = nullptr);
  // One task of a global service on each eligible node lacking one (of `only`, when
  // given). Appends to plan.
  void placeGlobal(const std::shared_ptr<const TaskSpec>& spec, const NodeSet* only, Plan& plan);
  uint64_t nextSpin();

  Cluster cluster_;
  uint64_t seed_;
  uint64_t spins_ = 0;
  std::unordered_map<std::string, int64_t> next_slot_;    // service -> last replica number
  std::vector<std::shared_ptr<const TaskSpec>> globals_;  // in the order scheduled
  std::unordered_set<std::string> foreign_ids_;           // services with ids not from next_slot_
  std::vector<float>* latencies_ = nullptr;
};

// Checks a spec for what the scheduler cannot work with (empty service name, negative
// requests, duplicate ports, empty rule fields, too many soft rules, ...).
Status validate(const ServiceSpec& s);

}  // namespace berth::scheduler
