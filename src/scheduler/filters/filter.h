#pragma once
// The feasibility stage: each filter is one hard rule. The scheduler narrows a batch's
// candidate set through every filter that applies, then picks among what is left; a
// task that finds no node is explained by asking each node, filter by filter in
// registry order, why it refuses (reject()). narrow() and reject() must agree exactly:
// the explanation counts only what reject() says, and the property tests check the
// scheduler's choices against a brute-force reference.

#include <string>
#include <string_view>

#include "scheduler/batch.h"
#include "scheduler/node_set.h"

namespace berth::scheduler {

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  // False when the spec has nothing this filter checks; the filter is then skipped.
  virtual bool applies(const TaskSpec&) const { return true; }

  // Removes from candidates every node that rejects the batch's next task. The default
  // asks reject() node by node; filters with an index do better.
  virtual void narrow(const Batch& b, NodeSet& candidates) const;
  // Empty when node n accepts the batch's next task; otherwise why not, worded for a
  // person and equal for equal causes ("insufficient memory", "port 80 taken").
  virtual std::string reject(const Batch& b, NodeId n) const = 0;

  // A capacity filter refuses a node for lack of room (resources, slots, ports) rather
  // than by rule: global mode reports such nodes instead of skipping them as ineligible.
  virtual bool capacity() const { return false; }

  // A lazy filter is not narrowed up front (that would visit every node per batch):
  // the search asks accepts() of each node it is about to pick, and drops a node that
  // fails from the batch's candidates. Only for rules whose answer can only turn from
  // yes to no as the batch places tasks (capacity).
  virtual bool lazy() const { return false; }
  virtual bool accepts(const Batch& b, NodeId n) const { return reject(b, n).empty(); }

  // Called after a task of the batch went to `placed` (already recorded in the
  // cluster): removes the nodes that now reject the next task.
  virtual void afterPlace(const Batch&, NodeId /*placed*/, NodeSet& /*candidates*/) const {}

  // Rules naming one task id differ from task to task within a batch: when perTask()
  // holds, narrowTask() narrows a copy of the candidates before each task.
  virtual bool perTask(const Batch&) const { return false; }
  virtual void narrowTask(const Batch&, NodeSet& /*candidates*/) const {}
};

}  // namespace berth::scheduler
