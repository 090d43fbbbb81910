#include <algorithm>
#include <numeric>

#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

namespace {

// One spread rule over one batch. Domain i < values is label value i; domain `values`
// holds the nodes without the label.
class SpreadRun : public TierRun {
 public:
  SpreadRun(const Batch& b, const SpreadRule& rule)
      : key_(b.cluster.labelKey("node.labels." + rule.label)) {
    size_t values = key_ ? key_->values.size() : 0;
    counts_.assign(values + 1, 0);
    weights_.assign(values + 1, 1);
    for (size_t v = 0; v < values; ++v) {
      auto it = rule.weights.find(key_->values[v]);
      if (it != rule.weights.end()) weights_[v] = it->second;
    }
    b.cluster.forEachHolder(Selector{Selector::Kind::kService, b.spec.service, ""},
                            [&](NodeId n, uint32_t count) { counts_[domain(n)] += count; });
    order_.resize(values + 1);
  }

  bool visitGroups(const Batch& b, const NodeSet& candidates, GroupVisitor visit) override {
    if (!key_) return visit(candidates);
    // Furthest below its share first: the smallest (count + 1) / weight, i.e. where the
    // next task would leave the distribution closest to the weights. Weight 0 goes last.
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](size_t x, size_t y) {
      if (weights_[x] == 0 || weights_[y] == 0) return weights_[y] == 0 && weights_[x] != 0;
      return (counts_[x] + 1) * weights_[y] < (counts_[y] + 1) * weights_[x];
    });
    NodeSet group = b.cluster.emptySet();
    for (size_t d : order_) {
      bool labelled = d < key_->values.size();
      if (labelled && !candidates.intersects(key_->nodes[d])) continue;
      group = candidates;
      if (labelled)
        group &= key_->nodes[d];
      else
        group.andNot(key_->any);
      if (!group.empty() && visit(group)) return true;
    }
    return false;
  }

  void afterPlace(const Batch&, NodeId placed) override { ++counts_[domain(placed)]; }

 private:
  size_t domain(NodeId n) const {
    int32_t v = key_ ? key_->of_node[n] : -1;
    return v < 0 ? counts_.size() - 1 : static_cast<size_t>(v);
  }

  const LabelKey* key_;
  std::vector<int64_t> counts_;
  std::vector<int64_t> weights_;
  std::vector<size_t> order_;
};

}  // namespace

std::vector<std::unique_ptr<TierRun>> SpreadTier::start(const Batch& b) const {
  std::vector<std::unique_ptr<TierRun>> runs;
  for (const auto& rule : b.spec.spread) runs.push_back(std::make_unique<SpreadRun>(b, rule));
  return runs;
}

}  // namespace berth::scheduler
