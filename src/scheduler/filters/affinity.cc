#include "scheduler/filters/filters.h"

namespace berth::scheduler {

namespace {

bool isHardAffinity(const AffinityRule& r) { return r.hard && !r.anti; }

// A rule whose targets include the batch's own tasks, with none placed yet: the first
// task may go anywhere the other rules allow.
bool waitsForFirst(const Batch& b, const AffinityRule& r) {
  if (!picks(r.target, b.spec, b.task_id)) return false;
  bool any = false;
  b.cluster.forEachHolder(r.target, [&](NodeId, uint32_t) { any = true; });
  return !any;
}

}  // namespace

bool AffinityFilter::applies(const TaskSpec& s) const {
  for (const auto& r : s.affinities)
    if (isHardAffinity(r)) return true;
  return false;
}

void AffinityFilter::narrow(const Batch& b, NodeSet& c) const {
  for (const auto& r : b.spec.affinities)
    if (isHardAffinity(r) && !waitsForFirst(b, r)) c &= targetScope(b.cluster, r);
}

void AffinityFilter::afterPlace(const Batch& b, NodeId, NodeSet& c) const {
  // Only rules about the batch's own tasks change: the first placement pins the rest.
  for (const auto& r : b.spec.affinities)
    if (isHardAffinity(r) && picks(r.target, b.spec, b.task_id)) c &= targetScope(b.cluster, r);
}

std::string AffinityFilter::reject(const Batch& b, NodeId n) const {
  for (const auto& r : b.spec.affinities) {
    if (!isHardAffinity(r) || waitsForFirst(b, r)) continue;
    if (!targetInScope(b.cluster, r.scope, r.target, n))
      return "no " + targetWords(r.target) + " " + scopeWords(r.scope);
  }
  return "";
}

}  // namespace berth::scheduler
