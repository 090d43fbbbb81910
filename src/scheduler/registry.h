#pragma once
// The one list of filters, tiers and strategies. Filters run in this order; an
// explanation charges each node to the first filter that refuses it.

#include <vector>

#include "scheduler/filters/filter.h"
#include "scheduler/scorers/scorer.h"

namespace berth::scheduler {

const std::vector<const Filter*>& filters();
const std::vector<const Tier*>& tiers();  // outermost first
const Picker& picker(Strategy s);

}  // namespace berth::scheduler
