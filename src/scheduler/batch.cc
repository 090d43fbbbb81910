#include "scheduler/batch.h"

namespace berth::scheduler {

NodeSet targetScope(const Cluster& c, const AffinityRule& rule) {
  return scopeOf(c, rule.scope, [&](auto&& f) { c.forEachHolder(rule.target, f); });
}

}  // namespace berth::scheduler

namespace berth::scheduler {

bool targetInScope(const Cluster& c, const std::string& scope, const Selector& target, NodeId n) {
  if (scope.empty()) return c.holdersOn(target, n) > 0;
  const LabelKey* key = c.labelKey("node.labels." + scope);
  if (!key || key->of_node[n] < 0) return false;
  bool found = false;
  c.forEachHolder(target,
                  [&](NodeId h, uint32_t) { found = found || key->of_node[h] == key->of_node[n]; });
  return found;
}

std::string scopeWords(const std::string& scope) {
  return scope.empty() ? "on the node" : "in its " + scope;
}

std::string targetWords(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::kService:
      return "task of service '" + s.name + "'";
    case Selector::Kind::kLabel:
      return "task labelled " + s.name + "=" + s.value;
    case Selector::Kind::kTask:
      return "task '" + s.name + "'";
  }
  return s.name;
}

}  // namespace berth::scheduler
