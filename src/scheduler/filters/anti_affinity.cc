#include "scheduler/filters/filters.h"

namespace berth::scheduler {

namespace {

bool isHardAnti(const AffinityRule& r) { return r.hard && r.anti; }

// Calls f(scope, holders) for each anti-affinity that placed tasks declared against
// tasks like the batch's (by service and by each label; by id in forEachTaskDeclared).
template <typename F>
void forEachDeclared(const Batch& b, F&& f) {
  auto visit = [&](const Selector& s) {
    if (auto* d = b.cluster.declaredAnti(s))
      for (const auto& [scope, holders] : *d) f(scope, holders);
  };
  visit(Selector{Selector::Kind::kService, b.spec.service, ""});
  for (const auto& [k, v] : b.spec.labels) visit(Selector{Selector::Kind::kLabel, k, v});
}

template <typename F>
void forEachTaskDeclared(const Batch& b, F&& f) {
  if (auto* d = b.cluster.declaredAnti(Selector{Selector::Kind::kTask, b.task_id, ""}))
    for (const auto& [scope, holders] : *d) f(scope, holders);
}

NodeSet scopeOfHolders(const Cluster& c, const std::string& scope, const Holders& h) {
  return scopeOf(c, scope, [&](auto&& f) { h.forEach(f); });
}

bool sharesScope(const Cluster& c, const std::string& scope, const Holders& h, NodeId n) {
  if (scope.empty()) return h.get(n) > 0;
  const LabelKey* key = c.labelKey("node.labels." + scope);
  if (!key || key->of_node[n] < 0) return false;
  bool shared = false;
  h.forEach([&](NodeId m, uint32_t) { shared = shared || key->of_node[m] == key->of_node[n]; });
  return shared;
}

}  // namespace

void AntiAffinityFilter::narrow(const Batch& b, NodeSet& c) const {
  for (const auto& r : b.spec.affinities)
    if (isHardAnti(r)) c.andNot(targetScope(b.cluster, r));
  forEachDeclared(b, [&](const std::string& scope, const Holders& h) {
    c.andNot(scopeOfHolders(b.cluster, scope, h));
  });
}

void AntiAffinityFilter::narrowTask(const Batch& b, NodeSet& c) const {
  forEachTaskDeclared(b, [&](const std::string& scope, const Holders& h) {
    c.andNot(scopeOfHolders(b.cluster, scope, h));
  });
}

void AntiAffinityFilter::afterPlace(const Batch& b, NodeId placed, NodeSet& c) const {
  // The placed task now refuses (and is refused by) the batch's next tasks in its scope.
  for (const auto& r : b.spec.affinities) {
    if (!isHardAnti(r) || !picks(r.target, b.spec, b.task_id)) continue;
    if (r.scope.empty()) {
      c.reset(placed);
    } else if (const LabelKey* key = b.cluster.labelKey("node.labels." + r.scope)) {
      if (const NodeSet* d = b.cluster.domainOf(*key, placed)) c.andNot(*d);
    }
  }
}

std::string AntiAffinityFilter::reject(const Batch& b, NodeId n) const {
  for (const auto& r : b.spec.affinities)
    if (isHardAnti(r) && targetInScope(b.cluster, r.scope, r.target, n))
      return targetWords(r.target) + " " + scopeWords(r.scope);
  std::string why;
  auto check = [&](const std::string& scope, const Holders& h) {
    if (why.empty() && sharesScope(b.cluster, scope, h, n))
      why = "refused by a task's anti-affinity " + scopeWords(scope);
  };
  forEachDeclared(b, check);
  forEachTaskDeclared(b, check);
  return why;
}

}  // namespace berth::scheduler
