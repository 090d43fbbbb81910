#pragma once
// The tiers and strategies, one file each; registry.cc lists them.

#include "scheduler/scorers/scorer.h"

namespace berth::scheduler {

// Spread the service over a label's values in proportion to their weights.
class SpreadTier : public Tier {
 public:
  std::string_view name() const override { return "spread"; }
  std::vector<std::unique_ptr<TierRun>> start(const Batch& b) const override;
};

// Soft affinity and anti-affinity: groups by the sum of the rules' weights they meet.
class SoftAffinityTier : public Tier {
 public:
  static constexpr size_t kMaxRules = 8;  // 2^8 groups at most
  std::string_view name() const override { return "soft affinity"; }
  std::vector<std::unique_ptr<TierRun>> start(const Batch& b) const override;
};

// The least busy node (lowest dominant utilisation of cpu, memory and task slots).
class LeastBusyPicker : public Picker {
 public:
  std::string_view name() const override { return "spread"; }
  std::optional<NodeId> pick(const Batch& b, const NodeSet& group, Accept accept,
                             uint64_t spin) const override;
};

// The busiest node that still fits: fills one node before the next.
class BinpackPicker : public Picker {
 public:
  std::string_view name() const override { return "binpack"; }
  std::optional<NodeId> pick(const Batch& b, const NodeSet& group, Accept accept,
                             uint64_t spin) const override;
};

// Any node that fits, chosen by spin.
class RandomPicker : public Picker {
 public:
  std::string_view name() const override { return "random"; }
  std::optional<NodeId> pick(const Batch& b, const NodeSet& group, Accept accept,
                             uint64_t spin) const override;
};

// Shared by the load-ordered pickers: the accepted node of group with the lowest load
// (ascending) or the highest.
std::optional<NodeId> pickByLoad(const Batch& b, const NodeSet& group, Accept accept, uint64_t spin,
                                 bool ascending);

}  // namespace berth::scheduler
