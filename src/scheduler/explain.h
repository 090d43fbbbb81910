#pragma once
// Why no node takes the batch's next task, counted per reason:
//   "0/10000 nodes: 7000 insufficient memory, 2990 label zone!=east, 10 port 80 taken"
// Each node is charged to the first filter (registry order) that refuses it; reasons
// are listed by count, most first, then alphabetically. Visits every node: for the
// failure path only.

#include <string>
#include <vector>

#include "scheduler/batch.h"
#include "scheduler/filters/filter.h"

namespace berth::scheduler {

std::string explain(const Batch& b, const std::vector<const Filter*>& filters);

}  // namespace berth::scheduler
