#pragma once
// The simulator's referee: checks a finished placement against every hard rule and
// capacity, with code of its own (it shares the scheduler's data model, not a line of
// its filters or indices), so a scheduler bug cannot hide by being repeated here.

#include <memory>
#include <string>
#include <vector>

#include "scheduler/model.h"

namespace berth::sim {

namespace sched = berth::scheduler;

struct Assignment {
  struct Entry {
    std::string id;
    std::shared_ptr<const sched::TaskSpec> spec;
    size_t node;  // index into nodes
  };
  std::vector<sched::NodeSpec> nodes;
  std::vector<Entry> tasks;
};

struct CheckResult {
  size_t violations = 0;
  std::vector<std::string> examples;  // the first few, "task 'web.3' on 'n7': port 80 taken twice"
};

// Violations: a task on a down node; cpu, memory or task slots over capacity; a host port
// used twice on a node; a constraint not met; more than max_per_node tasks of a service
// on a node; a hard affinity without a target in scope (a task whose own rule picks
// it is excused when no other task is picked anywhere); a hard anti-affinity with another
// picked task in scope. A node lacking the scope label shares a domain with no one.
CheckResult check(const Assignment& a, size_t max_examples = 10);

// Brute force, for small clusters: the nodes on which one more task, made from spec and
// named id, would leave `a` without a new violation.
std::vector<bool> feasibleNodes(const Assignment& a, std::shared_ptr<const sched::TaskSpec> spec,
                                const std::string& id);

}  // namespace berth::sim
