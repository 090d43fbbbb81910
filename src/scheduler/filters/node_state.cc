#include "scheduler/filters/filters.h"

namespace berth::scheduler {

void NodeStateFilter::narrow(const Batch& b, NodeSet& c) const { c &= b.cluster.ready(); }

std::string NodeStateFilter::reject(const Batch& b, NodeId n) const {
  NodeState s = b.cluster.node(n).state;
  if (s == NodeState::kReady) return "";
  return "node " + std::string(toString(s));
}

}  // namespace berth::scheduler
