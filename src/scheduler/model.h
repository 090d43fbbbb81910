#pragma once
// What the scheduler reasons about: nodes, the task template a service stamps its tasks
// from, placement rules, and the plan that comes back. Plain values; no behaviour beyond
// parsing and printing rules.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "scheduler/node_set.h"

namespace berth::scheduler {

enum class NodeState { kReady, kDraining, kDown };
std::string_view toString(NodeState s);

struct Resources {
  int64_t cpu_milli = 0;  // millicores
  int64_t memory = 0;     // bytes
};

struct NodeSpec {
  std::string name;  // unique in the cluster
  std::string role = "worker";
  std::map<std::string, std::string> labels;
  Resources capacity;
  int32_t max_tasks = 0;  // 0: no limit
  NodeState state = NodeState::kReady;
};

// A constraint on a node field or label, as Swarm writes them:
//   node.labels.zone==east   node.role!=manager   node.labels.zone in (east,west)
//   node.labels.disk not in (hdd)   node.labels.gpu exists
// Keys: node.hostname (alias node.name), node.role, node.labels.<key>. A node without the
// label satisfies != and not in, and fails ==, in and exists.
enum class ConstraintOp { kEq, kNe, kIn, kNotIn, kExists };
struct Constraint {
  std::string key;  // as written: "node.labels.zone"
  ConstraintOp op = ConstraintOp::kEq;
  std::vector<std::string> values;  // one for == and !=, none for exists
};
Result<Constraint> parseConstraint(std::string_view text);
std::string toString(const Constraint& c);

// Which tasks an affinity rule is about: every task of a service, every task carrying a
// label key=value, or one named task.
struct Selector {
  enum class Kind { kService, kLabel, kTask };
  Kind kind = Kind::kService;
  std::string name;   // service name, label key, or task id
  std::string value;  // label value (kLabel only)
};
std::string toString(const Selector& s);

// Affinity (anti=false) or anti-affinity (anti=true) to the tasks a selector picks, on the
// same node (scope "") or in the same topology domain (scope = a node label key such as
// "zone"). Hard rules filter; soft ones prefer (weight > 0) without excluding. Co-location
// with a named task is a hard affinity to Selector::kTask at node scope; "never with it"
// is the anti form. A hard affinity whose targets include the task's own service is met
// by its first task anywhere (as Kubernetes does), or no service could ever start.
struct AffinityRule {
  Selector target;
  std::string scope;
  bool anti = false;
  bool hard = true;
  int weight = 1;
};

// Spread the service's tasks over the values of a node label (Swarm's
// `--placement-pref spread=node.labels.zone`), in proportion to per-value weights
// (unlisted values weigh 1). Nodes without the label form one more domain of weight 1.
struct SpreadRule {
  std::string label;  // label key, without "node.labels."
  std::map<std::string, int> weights;
};

enum class Strategy { kSpread, kBinpack, kRandom };
std::string_view toString(Strategy s);

// The template every task of a service is made from.
struct TaskSpec {
  std::string service;
  std::map<std::string, std::string> labels;
  Resources request;
  std::vector<uint16_t> host_ports;
  std::vector<Constraint> constraints;
  std::vector<AffinityRule> affinities;
  std::vector<SpreadRule> spread;  // hierarchical: first rule outermost
  int32_t max_per_node = 0;        // 0: no limit
  Strategy strategy = Strategy::kSpread;
};

enum class Mode { kReplicated, kGlobal };

struct ServiceSpec {
  TaskSpec task;
  Mode mode = Mode::kReplicated;
  int32_t replicas = 1;  // replicated mode only
};

struct Placement {
  std::string task_id;
  NodeId node = 0;
};

struct Unplaced {
  std::string task_id;
  std::string reason;  // "0/10000 nodes: 7000 insufficient memory, ..."
};

// What a call decided. The scheduler has already applied it to its own state; the caller
// carries it out (starts and stops tasks).
struct Plan {
  std::vector<Placement> placed;
  std::vector<Unplaced> unplaced;
  std::vector<std::string> removed;  // task ids that stop (global tasks on a lost node)
};

}  // namespace berth::scheduler

namespace berth::scheduler {

// Whether a task made from spec, with this id, is one the selector picks.
bool picks(const Selector& s, const TaskSpec& spec, std::string_view task_id);

}  // namespace berth::scheduler
