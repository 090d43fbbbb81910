#include "scheduler/explain.h"

#include <algorithm>
#include <map>

namespace berth::scheduler {

std::string explain(const Batch& b, const std::vector<const Filter*>& filters) {
  std::map<std::string, size_t> counts;
  size_t nodes = b.cluster.nodeCount();
  for (NodeId n = 0; n < nodes; ++n) {
    std::string why;
    for (const Filter* f : filters)
      if (!(why = f->reject(b, n)).empty()) break;
    // A node every filter accepts cannot be here unless filters disagree with their
    // narrowing; say so rather than hide it.
    ++counts[why.empty() ? "accepted by every filter (scheduler bug)" : why];
  }
  std::vector<std::pair<std::string, size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  std::string out = "0/" + std::to_string(nodes) + " nodes";
  for (size_t i = 0; i < sorted.size(); ++i)
    out += (i ? ", " : ": ") + std::to_string(sorted[i].second) + " " + sorted[i].first;
  return out;
}

}  // namespace berth::scheduler
