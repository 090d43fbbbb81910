#include "scheduler/filters/filters.h"

namespace berth::scheduler {

void HostPortFilter::narrow(const Batch& b, NodeSet& c) const {
  for (uint16_t p : b.spec.host_ports)
    if (const NodeSet* users = b.cluster.portUsers(p)) c.andNot(*users);
}

void HostPortFilter::afterPlace(const Batch&, NodeId placed, NodeSet& c) const {
  c.reset(placed);  // the placed task holds the same ports now
}

std::string HostPortFilter::reject(const Batch& b, NodeId n) const {
  for (uint16_t p : b.spec.host_ports)
    if (b.cluster.portUsed(n, p)) return "port " + std::to_string(p) + " taken";
  return "";
}

}  // namespace berth::scheduler
