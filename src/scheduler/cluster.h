#pragma once
// The scheduler's in-memory picture of the cluster: nodes with dense ids, the tasks placed
// on them, and the indices that let a batch narrow candidates without visiting every
// node per task:
//   - label index: for each key ("node.labels.zone", "node.role") and value, the set of
//     nodes; and each node's value id per key (its topology domain). Not node.hostname:
//     a set per name would cost nodes^2 bits; names resolve through findNode();
//   - load index: nodes bucketed by dominant utilisation (0..1000 per mille of the
//     fullest of cpu, memory and task slots), for least-busy and binpack order;
//   - host-port index: for each port in use, the nodes where it is taken;
//   - holder index: for each selector (service, task label key=value, task id), the nodes
//     holding such tasks and how many;
//   - declared anti-affinity: for each selector, where placed tasks refuse its tasks
//     (so an earlier task's hard anti-affinity also binds tasks placed after it).
// Every change goes through place(), remove(), addNode() and setState(), which keep all
// indices in step. Node ids are never reused; a removed node stays as a down node.
// Not thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "scheduler/holders.h"
#include "scheduler/model.h"
#include "scheduler/node_set.h"

namespace berth::scheduler {

inline constexpr int kLoadBuckets = 1001;  // per mille, 0..1000

using TaskIndex = uint32_t;

struct Task {
  std::string id;
  std::shared_ptr<const TaskSpec> spec;
  NodeId node = 0;
  bool live = false;  // false once removed (the slot is not reused)
};

// One label key's values and which nodes carry each.
struct LabelKey {
  std::unordered_map<std::string, int32_t> ids;  // value -> id
  std::vector<std::string> values;               // id -> value
  std::vector<NodeSet> nodes;                    // id -> nodes with that value
  NodeSet any;                                   // nodes with the key at all
  std::vector<int32_t> of_node;                  // node -> value id, -1 without the key
};

class Cluster {
 public:
  // Errors: already exists (name taken), invalid argument (empty name, negative capacity).
  Result<NodeId> addNode(NodeSpec spec);
  std::optional<NodeId> findNode(std::string_view name) const;
  void setState(NodeId n, NodeState s);

  size_t nodeCount() const { return nodes_.size(); }
  const NodeSpec& node(NodeId n) const { return nodes_[n].spec; }
  const Resources& allocated(NodeId n) const { return nodes_[n].allocated; }
  int32_t taskCount(NodeId n) const { return static_cast<int32_t>(nodes_[n].tasks.size()); }
  const std::vector<TaskIndex>& tasksOn(NodeId n) const { return nodes_[n].tasks; }
  bool portUsed(NodeId n, uint16_t port) const;
  const NodeSet& ready() const { return ready_; }
  // An empty set sized like the others, to start a candidate set from.
  NodeSet emptySet() const { return NodeSet(capacity_); }
  size_t setSize() const { return capacity_; }

  // Label index; key as constraints write it ("node.labels.zone", "node.role"; not
  // "node.hostname"). Null: no node has it.
  const LabelKey* labelKey(std::string_view key) const;
  // The nodes sharing n's value of key (its topology domain), or null if n lacks the key.
  const NodeSet* domainOf(const LabelKey& key, NodeId n) const;

  // Load index.
  int load(NodeId n) const { return nodes_[n].load; }
  const NodeSet& loadBucket(int b) const { return buckets_[b]; }
  bool bucketEmpty(int b) const { return bucket_count_[b] == 0; }

  // Nodes where the port is taken; null when nowhere.
  const NodeSet* portUsers(uint16_t port) const;

  // Holder index: f(node, count) for each node holding tasks the selector picks.
  template <typename F>
  void forEachHolder(const Selector& s, F&& f) const {
    if (s.kind == Selector::Kind::kTask) {
      if (auto t = findTask(s.name)) f(tasks_[*t].node, uint32_t{1});
      return;
    }
    auto it = holders_.find(selectorKey(s));
    if (it == holders_.end()) return;
    it->second.forEach(f);
  }
  // How many tasks the selector picks on node n.
  uint32_t holdersOn(const Selector& s, NodeId n) const;
  // Where placed tasks refuse tasks picked by selectors of this key, by rule scope
  // ("" = node): scope -> holders. Null when none.
  const std::unordered_map<std::string, Holders>* declaredAnti(const Selector& s) const;
  bool anyTaskAntiDeclared() const { return task_anti_declared_ > 0; }
  // The label keys placed tasks' hard affinities use as their scope ("zone"), with how
  // many rules use each.
  const std::unordered_map<std::string, size_t>& affinityScopes() const { return affinity_scopes_; }

  // Records a task on a node, updating every index. The id must be new (the caller
  // checks with findTask). Does not check feasibility: that is the filters' job.
  TaskIndex place(std::string id, std::shared_ptr<const TaskSpec> spec, NodeId n);
  void remove(TaskIndex t);
  std::optional<TaskIndex> findTask(std::string_view id) const;
  const Task& task(TaskIndex t) const { return tasks_[t]; }
  size_t taskSlots() const { return tasks_.size(); }

  static std::string selectorKey(const Selector& s);

  // Makes room for this many more tasks at once, so the id index does not rehash (a
  // pause of a fraction of a second at a million tasks) in the middle of a batch.
  void reserveTasks(size_t more);

 private:
  struct NodeRec {
    NodeSpec spec;
    Resources allocated;
    std::vector<TaskIndex> tasks;
    std::vector<uint16_t> ports;
    int load = 0;
  };

  void grow();  // doubles capacity_ and resizes every set
  void indexLabel(const std::string& key, const std::string& value, NodeId n);
  int computeLoad(const NodeRec& r) const;
  void updateLoad(NodeId n);
  void addHolder(const std::string& key, NodeId n, int delta);
  // The holder maps a spec's tasks count in (service, each label), looked up once per
  // spec rather than per task; cleared whenever a holder map is erased. The cache holds
  // the spec so its address cannot be reused by another.
  const std::vector<Holders*>& holderMapsOf(const std::shared_ptr<const TaskSpec>& spec);

  std::vector<NodeRec> nodes_;
  std::unordered_map<std::string, NodeId> by_name_;
  size_t capacity_ = 0;
  NodeSet ready_;
  std::unordered_map<std::string, LabelKey> labels_;
  std::vector<NodeSet> buckets_ = std::vector<NodeSet>(kLoadBuckets);
  std::vector<uint32_t> bucket_count_ = std::vector<uint32_t>(kLoadBuckets, 0);
  std::unordered_map<uint16_t, NodeSet> port_users_;
  std::unordered_map<std::string, Holders> holders_;
  std::shared_ptr<const TaskSpec> cached_spec_;
  std::vector<Holders*> cached_maps_;
  std::unordered_map<std::string, std::unordered_map<std::string, Holders>> declared_anti_;
  size_t task_anti_declared_ = 0;
  std::unordered_map<std::string, size_t> affinity_scopes_;
  std::vector<Task> tasks_;
  std::unordered_map<std::string, TaskIndex> task_by_id_;
};

}  // namespace berth::scheduler
