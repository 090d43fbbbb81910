#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

namespace {

// Below this many members a group is scanned directly; above, load buckets are walked
// best first (each costs a pass over the group's words, but the first usually hits).
constexpr size_t kDirectScan = 256;

}  // namespace

std::optional<NodeId> pickByLoad(const Batch& b, const NodeSet& group, Accept accept, uint64_t spin,
                                 bool ascending) {
  const Cluster& c = b.cluster;
  if (c.nodeCount() == 0) return std::nullopt;
  NodeId start = static_cast<NodeId>(spin % c.nodeCount());
  std::optional<NodeId> best;
  if (group.atMost(kDirectScan)) {
    int best_load = 0;
    group.findFrom(start, [&](NodeId n) {
      int l = c.load(n);
      bool better = !best || (ascending ? l < best_load : l > best_load);
      if (better && accept(n)) {
        best = n;
        best_load = l;
      }
      return false;
    });
    return best;
  }
  DeadBuckets* dead = b.dead_buckets;
  bool whole = dead && dead->candidates == &group;
  for (int i = 0; i < kLoadBuckets; ++i) {
    int bucket = ascending ? i : kLoadBuckets - 1 - i;
    if (c.bucketEmpty(bucket) || (dead && dead->dead[bucket])) continue;
    bool found = c.loadBucket(bucket).findInBoth(group, start, [&](NodeId n) {
      if (!accept(n)) return false;
      best = n;
      return true;
    });
    if (found) return best;
    if (whole) dead->dead[bucket] = true;
  }
  return std::nullopt;
}

}  // namespace berth::scheduler
