#include <algorithm>

#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

namespace {

class SoftAffinityRun : public TierRun {
 public:
  explicit SoftAffinityRun(std::vector<const AffinityRule*> rules) : rules_(std::move(rules)) {
    // Every subset of rules met, by total weight (anti rules count against), best first.
    for (uint32_t mask = 0; mask < (1u << rules_.size()); ++mask) masks_.push_back(mask);
    auto score = [&](uint32_t mask) {
      int64_t s = 0;
      for (size_t i = 0; i < rules_.size(); ++i)
        if (mask & (1u << i)) s += rules_[i]->anti ? -rules_[i]->weight : rules_[i]->weight;
      return s;
    };
    std::stable_sort(masks_.begin(), masks_.end(),
                     [&](uint32_t x, uint32_t y) { return score(x) > score(y); });
  }

  bool visitGroups(const Batch& b, const NodeSet& candidates, GroupVisitor visit) override {
    std::vector<NodeSet> met;  // per rule: nodes where it is met (its targets in scope)
    for (const auto* r : rules_) met.push_back(targetScope(b.cluster, *r));
    NodeSet group = b.cluster.emptySet();
    for (uint32_t mask : masks_) {
      group = candidates;
      for (size_t i = 0; i < rules_.size(); ++i) {
        if (mask & (1u << i))
          group &= met[i];
        else
          group.andNot(met[i]);
      }
      if (!group.empty() && visit(group)) return true;
    }
    return false;
  }

 private:
  std::vector<const AffinityRule*> rules_;
  std::vector<uint32_t> masks_;
};

}  // namespace

std::vector<std::unique_ptr<TierRun>> SoftAffinityTier::start(const Batch& b) const {
  std::vector<const AffinityRule*> rules;
  for (const auto& r : b.spec.affinities)
    if (!r.hard && rules.size() < kMaxRules) rules.push_back(&r);
  std::vector<std::unique_ptr<TierRun>> runs;
  if (!rules.empty()) runs.push_back(std::make_unique<SoftAffinityRun>(std::move(rules)));
  return runs;
}

}  // namespace berth::scheduler
