#include "sim/checker.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace berth::sim {

using sched::AffinityRule;
using sched::Selector;
using sched::TaskSpec;

namespace {

const std::string* nodeValue(const sched::NodeSpec& n, const std::string& key) {
  if (key == "node.hostname" || key == "node.name") return &n.name;
  if (key == "node.role") return &n.role;
  const std::string prefix = "node.labels.";
  if (key.compare(0, prefix.size(), prefix) != 0) return nullptr;
  auto it = n.labels.find(key.substr(prefix.size()));
  return it == n.labels.end() ? nullptr : &it->second;
}

bool constraintMet(const sched::Constraint& c, const sched::NodeSpec& n) {
  const std::string* v = nodeValue(n, c.key);
  bool listed = v && std::find(c.values.begin(), c.values.end(), *v) != c.values.end();
  switch (c.op) {
    case sched::ConstraintOp::kEq:
    case sched::ConstraintOp::kIn:
      return listed;
    case sched::ConstraintOp::kNe:
    case sched::ConstraintOp::kNotIn:
      return !listed;
    case sched::ConstraintOp::kExists:
      return v != nullptr;
  }
  return false;
}

bool selects(const Selector& s, const Assignment::Entry& t) {
  if (s.kind == Selector::Kind::kService) return t.spec->service == s.name;
  if (s.kind == Selector::Kind::kTask) return t.id == s.name;
  auto it = t.spec->labels.find(s.name);
  return it != t.spec->labels.end() && it->second == s.value;
}

// Everything check() needs to look tasks up by node and by selector quickly.
class Index {
 public:
  explicit Index(const Assignment& a) : a_(a), on_node_(a.nodes.size()) {
    for (size_t i = 0; i < a.tasks.size(); ++i) {
      const auto& t = a.tasks[i];
      on_node_[t.node].push_back(i);
      by_key_["s:" + t.spec->service].push_back(i);
      by_key_["t:" + t.id].push_back(i);
      for (const auto& [k, v] : t.spec->labels) by_key_["l:" + k + "=" + v].push_back(i);
    }
  }

  const std::vector<size_t>& onNode(size_t n) const { return on_node_[n]; }

  // The tasks a selector picks.
  const std::vector<size_t>& picked(const Selector& s) const {
    static const std::vector<size_t> none;
    std::string key = s.kind == Selector::Kind::kService ? "s:" + s.name
                      : s.kind == Selector::Kind::kTask  ? "t:" + s.name
                                                         : "l:" + s.name + "=" + s.value;
    auto it = by_key_.find(key);
    return it == by_key_.end() ? none : it->second;
  }

  // How many tasks the rule's selector picks in the scope of node n (t excluded).
  size_t inScope(const AffinityRule& r, size_t n, size_t self) const {
    size_t count = 0;
    if (r.scope.empty()) {
      for (size_t i : on_node_[n])
        if (i != self && selects(r.target, a_.tasks[i])) ++count;
      return count;
    }
    auto mine = a_.nodes[n].labels.find(r.scope);
    if (mine == a_.nodes[n].labels.end()) return 0;
    for (size_t i : picked(r.target)) {
      if (i == self) continue;
      const auto& labels = a_.nodes[a_.tasks[i].node].labels;
      auto theirs = labels.find(r.scope);
      if (theirs != labels.end() && theirs->second == mine->second) ++count;
    }
    return count;
  }

 private:
  const Assignment& a_;
  std::vector<std::vector<size_t>> on_node_;
  std::unordered_map<std::string, std::vector<size_t>> by_key_;
};

}  // namespace

CheckResult check(const Assignment& a, size_t max_examples) {
  CheckResult r;
  auto violation = [&](const std::string& who, const std::string& what) {
    ++r.violations;
    if (r.examples.size() < max_examples) r.examples.push_back(who + ": " + what);
  };
  Index index(a);
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    const auto& node = a.nodes[n];
    const auto& tasks = index.onNode(n);
    std::string where = "node '" + node.name + "'";
    if (!tasks.empty() && node.state == sched::NodeState::kDown)
      violation(where, std::to_string(tasks.size()) + " tasks on a down node");
    int64_t cpu = 0, mem = 0;
    std::set<uint16_t> ports;
    std::map<std::string, int> per_service;
    for (size_t i : tasks) {
      const TaskSpec& s = *a.tasks[i].spec;
      cpu += s.request.cpu_milli;
      mem += s.request.memory;
      for (uint16_t p : s.host_ports)
        if (!ports.insert(p).second) violation(where, "port " + std::to_string(p) + " used twice");
      ++per_service[s.service];
    }
    if (cpu > node.capacity.cpu_milli) violation(where, "cpu over capacity");
    if (mem > node.capacity.memory) violation(where, "memory over capacity");
    if (node.max_tasks > 0 && static_cast<int64_t>(tasks.size()) > node.max_tasks)
      violation(where, "more tasks than slots");
    for (size_t i : tasks) {
      const auto& t = a.tasks[i];
      const TaskSpec& s = *t.spec;
      std::string who = "task '" + t.id + "' on '" + node.name + "'";
      if (s.max_per_node > 0 && per_service[s.service] > s.max_per_node) {
        violation(who, "over max per node");
        per_service[s.service] = 0;  // once per service and node
      }
      for (const auto& c : s.constraints)
        if (!constraintMet(c, node))
          violation(who, "constraint " + sched::toString(c) + " not met");
      for (const auto& rule : s.affinities) {
        if (!rule.hard) continue;
        size_t near = index.inScope(rule, n, i);
        if (rule.anti && near > 0)
          violation(who, "anti-affinity to " + sched::toString(rule.target));
        if (!rule.anti && near == 0) {
          size_t others = index.picked(rule.target).size() - (selects(rule.target, t) ? 1 : 0);
          bool excused = selects(rule.target, t) && others == 0;
          if (!excused) violation(who, "affinity to " + sched::toString(rule.target) + " not met");
        }
      }
    }
  }
  return r;
}

std::vector<bool> feasibleNodes(const Assignment& a, std::shared_ptr<const TaskSpec> spec,
                                const std::string& id) {
  std::vector<bool> ok(a.nodes.size());
  size_t before = check(a, 0).violations;
  Assignment trial = a;
  trial.tasks.push_back({id, std::move(spec), 0});
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    trial.tasks.back().node = n;
    ok[n] = a.nodes[n].state == sched::NodeState::kReady && check(trial, 0).violations == before;
  }
  return ok;
}

}  // namespace berth::sim
