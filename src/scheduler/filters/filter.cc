#include "scheduler/filters/filter.h"

namespace berth::scheduler {

void Filter::narrow(const Batch& b, NodeSet& candidates) const {
  NodeSet copy = candidates;
  copy.forEach([&](NodeId n) {
    if (!accepts(b, n)) candidates.reset(n);
  });
}

}  // namespace berth::scheduler
