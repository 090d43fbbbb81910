#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

std::optional<NodeId> RandomPicker::pick(const Batch& b, const NodeSet& group, Accept accept,
                                         uint64_t spin) const {
  if (b.cluster.nodeCount() == 0) return std::nullopt;
  std::optional<NodeId> chosen;
  group.findFrom(static_cast<NodeId>(spin % b.cluster.nodeCount()), [&](NodeId n) {
    if (!accept(n)) return false;
    chosen = n;
    return true;
  });
  return chosen;
}

}  // namespace berth::scheduler
