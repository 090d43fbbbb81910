#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

std::optional<NodeId> LeastBusyPicker::pick(const Batch& b, const NodeSet& group, Accept accept,
                                            uint64_t spin) const {
  return pickByLoad(b, group, accept, spin, /*ascending=*/true);
}

}  // namespace berth::scheduler
