#pragma once
// What one call's tasks share while the scheduler places them: the cluster, the template
// the tasks are made from, and the id of the task being placed now. Filters and scorers
// read it; only the scheduler changes it.

#include <string>

#include "scheduler/cluster.h"
#include "scheduler/model.h"

namespace berth::scheduler {

// Load buckets known to hold none of the batch's candidates, so the load-ordered
// pickers skip them without a pass over their words. A bucket turns dead when a walk of
// the whole candidate set finds nothing in it (its nodes are not candidates or were
// refused, and refusals last the batch); it comes alive when the batch places a task on
// a node whose load lands in it.
struct DeadBuckets {
  std::vector<bool> dead = std::vector<bool>(kLoadBuckets, false);
  const NodeSet* candidates = nullptr;  // the batch's whole candidate set
};

struct Batch {
  const Cluster& cluster;
  const TaskSpec& spec;
  std::string task_id;  // the task being placed now
  DeadBuckets* dead_buckets = nullptr;
};

// The nodes in the same scope as any node in `holders`: the nodes themselves (scope "")
// or every node sharing their value of label `scope` (holders without it add nothing).
template <typename ForEachHolder>
NodeSet scopeOf(const Cluster& c, const std::string& scope, ForEachHolder&& for_each) {
  NodeSet out = c.emptySet();
  const LabelKey* key = scope.empty() ? nullptr : c.labelKey("node.labels." + scope);
  std::vector<bool> seen;
  if (key) seen.resize(key->values.size());
  for_each([&](NodeId n, uint32_t) {
    if (scope.empty()) {
      out.set(n);
    } else if (key && key->of_node[n] >= 0 && !seen[key->of_node[n]]) {
      seen[key->of_node[n]] = true;
      out |= key->nodes[key->of_node[n]];
    }
  });
  return out;
}

// scopeOf the nodes holding tasks the rule's selector picks.
NodeSet targetScope(const Cluster& c, const AffinityRule& rule);

}  // namespace berth::scheduler

namespace berth::scheduler {

// Whether node n shares the scope ("" = the node itself, else a label key) with a node
// holding tasks the selector picks. A node without the scope label shares nothing.
bool targetInScope(const Cluster& c, const std::string& scope, const Selector& target, NodeId n);

// "on the node" / "in its zone", for explanations.
std::string scopeWords(const std::string& scope);
// "task of service 'db'", "task labelled app=db", "task 'web.1'".
std::string targetWords(const Selector& s);

}  // namespace berth::scheduler
