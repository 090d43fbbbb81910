#include "scheduler/filters/filters.h"

namespace berth::scheduler {

namespace {

bool fits(int64_t request, int64_t used, int64_t capacity) {
  return request == 0 || capacity - used >= request;
}

}  // namespace

bool ResourceFilter::accepts(const Batch& b, NodeId n) const {
  const Resources& cap = b.cluster.node(n).capacity;
  const Resources& used = b.cluster.allocated(n);
  return fits(b.spec.request.cpu_milli, used.cpu_milli, cap.cpu_milli) &&
         fits(b.spec.request.memory, used.memory, cap.memory);
}

std::string ResourceFilter::reject(const Batch& b, NodeId n) const {
  const Resources& cap = b.cluster.node(n).capacity;
  const Resources& used = b.cluster.allocated(n);
  if (!fits(b.spec.request.cpu_milli, used.cpu_milli, cap.cpu_milli)) return "insufficient cpu";
  if (!fits(b.spec.request.memory, used.memory, cap.memory)) return "insufficient memory";
  return "";
}

}  // namespace berth::scheduler
