#include "scheduler/filters/filters.h"

namespace berth::scheduler {

bool TaskSlotFilter::accepts(const Batch& b, NodeId n) const {
  int32_t max = b.cluster.node(n).max_tasks;
  return max == 0 || b.cluster.taskCount(n) < max;
}

std::string TaskSlotFilter::reject(const Batch& b, NodeId n) const {
  return accepts(b, n) ? "" : "max tasks reached";
}

}  // namespace berth::scheduler
