#include "scheduler/filters/filters.h"

namespace berth::scheduler {

namespace {

Selector own(const Batch& b) { return Selector{Selector::Kind::kService, b.spec.service, ""}; }

}  // namespace

void MaxPerNodeFilter::narrow(const Batch& b, NodeSet& c) const {
  b.cluster.forEachHolder(own(b), [&](NodeId n, uint32_t count) {
    if (count >= static_cast<uint32_t>(b.spec.max_per_node)) c.reset(n);
  });
}

void MaxPerNodeFilter::afterPlace(const Batch& b, NodeId placed, NodeSet& c) const {
  if (b.cluster.holdersOn(own(b), placed) >= static_cast<uint32_t>(b.spec.max_per_node))
    c.reset(placed);
}

std::string MaxPerNodeFilter::reject(const Batch& b, NodeId n) const {
  if (b.cluster.holdersOn(own(b), n) < static_cast<uint32_t>(b.spec.max_per_node)) return "";
  return "max " + std::to_string(b.spec.max_per_node) + " tasks of service '" + b.spec.service +
         "' per node";
}

}  // namespace berth::scheduler
