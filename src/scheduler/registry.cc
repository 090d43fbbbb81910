#include "scheduler/registry.h"

#include "scheduler/filters/filters.h"
#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

const std::vector<const Filter*>& filters() {
  static const NodeStateFilter state;
  static const ConstraintFilter constraints;
  static const AffinityFilter affinity;
  static const AntiAffinityFilter anti;
  static const MaxPerNodeFilter max_per_node;
  static const HostPortFilter ports;
  static const ResourceFilter resources;
  static const TaskSlotFilter slots;
  static const std::vector<const Filter*> all = {&state,        &constraints, &affinity,  &anti,
                                                 &max_per_node, &ports,       &resources, &slots};
  return all;
}

const std::vector<const Tier*>& tiers() {
  static const SpreadTier spread;
  static const SoftAffinityTier soft;
  static const std::vector<const Tier*> all = {&spread, &soft};
  return all;
}

const Picker& picker(Strategy s) {
  static const LeastBusyPicker least_busy;
  static const BinpackPicker binpack;
  static const RandomPicker random;
  switch (s) {
    case Strategy::kBinpack:
      return binpack;
    case Strategy::kRandom:
      return random;
    case Strategy::kSpread:
      break;
  }
  return least_busy;
}

}  // namespace berth::scheduler
