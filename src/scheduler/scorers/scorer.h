#pragma once
// The ranking stage. Rather than add up a score for every feasible node (which visits
// every node per task), ranking is a stack of tiers over a strategy, each a small piece:
//   - a tier splits the candidates into groups, best first (spread over a label domain:
//     the domain furthest below its share first; soft affinity: the group with the
//     highest sum of rule weights first). Tiers nest: the first spread rule outermost,
//     soft affinity innermost;
//   - the strategy picks the best node of a group in load order (least busy, binpack)
//     or at random, walking the cluster's load buckets instead of sorting.
// The search takes the first group, in tier order, that holds a node the lazy filters
// accept. So a tier's preference is strict (a better spread always beats a less busy
// node), which is what Swarm's placement preferences do; weights act within a tier.

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "scheduler/batch.h"
#include "scheduler/function_ref.h"

namespace berth::scheduler {

using GroupVisitor = FunctionRef<bool(const NodeSet&)>;
using Accept = FunctionRef<bool(NodeId)>;

// A tier's state for one batch.
class TierRun {
 public:
  virtual ~TierRun() = default;
  // Calls visit(group) for each non-empty group of candidates, best first, until visit
  // returns true; returns whether it did.
  virtual bool visitGroups(const Batch& b, const NodeSet& candidates, GroupVisitor visit) = 0;
  // The batch placed a task on `placed` (already recorded in the cluster).
  virtual void afterPlace(const Batch&, NodeId /*placed*/) {}
};

class Tier {
 public:
  virtual ~Tier() = default;
  virtual std::string_view name() const = 0;
  // One run per level the spec asks for (one per spread rule); none when it asks for none.
  virtual std::vector<std::unique_ptr<TierRun>> start(const Batch& b) const = 0;
};

// A placement strategy.
class Picker {
 public:
  virtual ~Picker() = default;
  virtual std::string_view name() const = 0;
  // The best node of group that accept() takes, or none. spin is a per-task random
  // number: ties go to the first node at or after spin % node count, so equal nodes
  // share the work and a seed decides the result.
  virtual std::optional<NodeId> pick(const Batch& b, const NodeSet& group, Accept accept,
                                     uint64_t spin) const = 0;
};

}  // namespace berth::scheduler
