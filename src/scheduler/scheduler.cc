#include "scheduler/scheduler.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "common/strings.h"
#include "scheduler/explain.h"
#include "scheduler/registry.h"
#include "scheduler/scorers/scorers.h"

namespace berth::scheduler {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// One batch's search: the candidates, the tier runs, the lazy filters.
class BatchSearch {
 public:
  BatchSearch(Batch& b, const NodeSet* only) : b_(b), candidates_(b.cluster.ready()) {
    dead_.candidates = &candidates_;
    b.dead_buckets = &dead_;
    for (const Filter* f : filters()) {
      if (!f->applies(b.spec)) continue;
      active_.push_back(f);
      if (f->lazy())
        lazy_.push_back(f);
      else
        f->narrow(b, candidates_);
    }
    if (only) candidates_ &= *only;
    for (const Tier* t : tiers())
      for (auto& run : t->start(b)) runs_.push_back(std::move(run));
  }

  const std::vector<const Filter*>& active() const { return active_; }
  const NodeSet& candidates() const { return candidates_; }

  bool perTask() const {
    for (const Filter* f : active_)
      if (f->perTask(b_)) return true;
    return false;
  }

  // The node for the batch's next task: in `prefer` if any there will do.
  std::optional<NodeId> find(uint64_t spin, const NodeSet* prefer) {
    NodeSet own;
    const NodeSet* from = &candidates_;
    if (perTask()) {
      own = candidates_;
      for (const Filter* f : active_)
        if (f->perTask(b_)) f->narrowTask(b_, own);
      from = &own;
    }
    if (prefer) {
      NodeSet near = *from;
      near &= *prefer;
      if (auto n = search(0, near, spin)) return n;
    }
    return search(0, *from, spin);
  }

  // Whether node n takes the batch's next task (global mode: one node at a time).
  bool takes(NodeId n) {
    if (!candidates_.has(n)) return false;
    if (perTask()) {
      NodeSet one = b_.cluster.emptySet();
      one.set(n);
      for (const Filter* f : active_)
        if (f->perTask(b_)) f->narrowTask(b_, one);
      if (!one.has(n)) return false;
    }
    return accept(n);
  }

  // Whether the lazy filters take n; a node they refuse leaves the candidates (capacity
  // only shrinks as the batch goes on).
  bool accept(NodeId n) {
    for (const Filter* f : lazy_)
      if (!f->accepts(b_, n)) {
        candidates_.reset(n);
        return false;
      }
    return true;
  }

  void placed(NodeId n) {
    dead_.dead[b_.cluster.load(n)] = false;
    for (const Filter* f : active_) f->afterPlace(b_, n, candidates_);
    for (auto& r : runs_) r->afterPlace(b_, n);
  }

 private:
  std::optional<NodeId> search(size_t level, const NodeSet& set, uint64_t spin) {
    if (level == runs_.size()) {
      auto accept = [this](NodeId n) { return this->accept(n); };
      return picker(b_.spec.strategy).pick(b_, set, accept, spin);
    }
    std::optional<NodeId> found;
    auto visit = [&](const NodeSet& group) {
      found = search(level + 1, group, spin);
      return found.has_value();
    };
    runs_[level]->visitGroups(b_, set, visit);
    return found;
  }

  Batch& b_;
  NodeSet candidates_;
  DeadBuckets dead_;
  std::vector<const Filter*> active_;
  std::vector<const Filter*> lazy_;
  std::vector<std::unique_ptr<TierRun>> runs_;
};

Status validateRule(const AffinityRule& r, const std::string& where) {
  if (r.target.name.empty()) return invalidArgument(where + ": empty target");
  if (r.target.kind == Selector::Kind::kLabel && r.target.value.empty())
    return invalidArgument(where + ": label target " + quote(r.target.name) + " has no value");
  if (!r.hard && r.weight <= 0)
    return invalidArgument(where + ": a soft rule needs a weight above 0");
  return okStatus();
}

}  // namespace

Status validate(const ServiceSpec& s) {
  const TaskSpec& t = s.task;
  std::string where = "service " + quote(t.service);
  if (t.service.empty()) return invalidArgument("service: empty name");
  if (t.service.find('.') != std::string::npos)
    return invalidArgument(where + ": name must not contain '.' (task ids are service.N)");
  if (s.mode == Mode::kReplicated && s.replicas < 0)
    return invalidArgument(where + ": negative replica count");
  if (t.request.cpu_milli < 0 || t.request.memory < 0)
    return invalidArgument(where + ": negative resource request");
  if (t.max_per_node < 0) return invalidArgument(where + ": negative max per node");
  std::set<uint16_t> ports;
  for (uint16_t p : t.host_ports) {
    if (p == 0) return invalidArgument(where + ": host port 0");
    if (!ports.insert(p).second)
      return invalidArgument(where + ": host port " + std::to_string(p) + " listed twice");
  }
  for (const auto& c : t.constraints) {
    bool one = c.op == ConstraintOp::kEq || c.op == ConstraintOp::kNe;
    if ((one && c.values.size() != 1) || (c.op == ConstraintOp::kExists && !c.values.empty()) ||
        (!one && c.op != ConstraintOp::kExists && c.values.empty()))
      return invalidArgument(where + ": constraint " + quote(toString(c)) +
                             ": wrong number of values for its operator");
    auto parsed = parseConstraint(toString(c));
    if (!parsed) return parsed.error().context(where);
  }
  size_t soft = 0;
  for (size_t i = 0; i < t.affinities.size(); ++i) {
    BERTH_RETURN_IF_ERROR(
        validateRule(t.affinities[i], where + ": affinity rule " + std::to_string(i + 1)));
    soft += !t.affinities[i].hard;
  }
  if (soft > SoftAffinityTier::kMaxRules)
    return invalidArgument(where + ": " + std::to_string(soft) + " soft affinity rules, at most " +
                           std::to_string(SoftAffinityTier::kMaxRules));
  for (const auto& r : t.spread) {
    if (r.label.empty()) return invalidArgument(where + ": spread rule without a label");
    for (const auto& [v, w] : r.weights)
      if (w < 0) return invalidArgument(where + ": spread weight of " + quote(v) + " below 0");
  }
  return okStatus();
}

uint64_t Scheduler::nextSpin() { return splitmix(seed_ ^ splitmix(++spins_)); }

void Scheduler::placeBatch(const std::shared_ptr<const TaskSpec>& spec,
                           const std::vector<std::string>& ids, Plan& plan, const NodeSet* prefer) {
  if (ids.empty()) return;
  // The first task's time includes the batch's narrowing.
  auto start = std::chrono::steady_clock::now();
  Batch b{cluster_, *spec, ids.front()};
  BatchSearch search(b, nullptr);
  std::string failure;  // once a task fails, the batch's later ones fail alike
  for (const auto& id : ids) {
    b.task_id = id;
    bool per_task = search.perTask();
    if (!failure.empty() && !per_task) {
      plan.unplaced.push_back({id, failure});
      continue;
    }
    auto node = search.find(nextSpin(), prefer);
    if (!node) {
      failure = explain(b, search.active());
      plan.unplaced.push_back({id, failure});
      if (per_task) failure.clear();
      continue;
    }
    cluster_.place(id, spec, *node);
    search.placed(*node);
    plan.placed.push_back({id, *node});
    if (latencies_) {
      auto now = std::chrono::steady_clock::now();
      latencies_->push_back(std::chrono::duration<float, std::micro>(now - start).count());
      start = now;
    }
  }
}

void Scheduler::placeGlobal(const std::shared_ptr<const TaskSpec>& spec, const NodeSet* only,
                            Plan& plan) {
  // Ready nodes (of `only`) that do not run one yet.
  NodeSet wanted = cluster_.ready();
  if (only) wanted &= *only;
  cluster_.forEachHolder(Selector{Selector::Kind::kService, spec->service, ""},
                         [&](NodeId n, uint32_t) { wanted.reset(n); });
  Batch b{cluster_, *spec, spec->service};
  BatchSearch search(b, &wanted);
  wanted.forEach([&](NodeId n) {
    b.task_id = spec->service + "." + cluster_.node(n).name;
    if (search.takes(n)) {
      cluster_.place(b.task_id, spec, n);
      search.placed(n);
      plan.placed.push_back({b.task_id, n});
      return;
    }
    // A node the rules exclude is not eligible; one that is eligible but has no room
    // (capacity, ports) is reported.
    for (const Filter* f : search.active()) {
      std::string why = f->reject(b, n);
      if (why.empty()) continue;
      if (f->capacity())
        plan.unplaced.push_back({b.task_id, "node " + quote(cluster_.node(n).name) + ": " + why});
      break;
    }
  });
}

Result<Plan> Scheduler::schedule(const ServiceSpec& s) {
  BERTH_RETURN_IF_ERROR(validate(s));
  auto spec = std::make_shared<const TaskSpec>(s.task);
  Plan plan;
  if (s.mode == Mode::kGlobal) {
    for (auto& g : globals_)
      if (g->service == spec->service) g = spec;
    if (std::none_of(globals_.begin(), globals_.end(), [&](auto& g) { return g == spec; }))
      globals_.push_back(spec);
    foreign_ids_.insert(spec->service);
    placeGlobal(spec, nullptr, plan);
    return plan;
  }
  cluster_.reserveTasks(s.replicas);
  // Ids from the counter are new unless tasks came in by other names (restored, global).
  bool careful = foreign_ids_.count(spec->service) > 0;
  int64_t& slot = next_slot_[spec->service];
  std::vector<std::string> ids;
  ids.reserve(s.replicas);
  for (int32_t i = 0; i < s.replicas; ++i) {
    std::string id = spec->service + "." + std::to_string(++slot);
    while (careful && cluster_.findTask(id)) id = spec->service + "." + std::to_string(++slot);
    ids.push_back(std::move(id));
  }
  placeBatch(spec, ids, plan);
  return plan;
}

Result<Plan> Scheduler::addNode(NodeSpec spec) {
  NodeId n = BERTH_TRY(cluster_.addNode(std::move(spec)));
  Plan plan;
  if (cluster_.node(n).state != NodeState::kReady) return plan;
  NodeSet only = cluster_.emptySet();
  only.set(n);
  for (const auto& g : globals_) placeGlobal(g, &only, plan);
  return plan;
}

Result<Plan> Scheduler::setNodeState(std::string_view name, NodeState s) {
  auto n = cluster_.findNode(name);
  if (!n) return notFound("set state of node " + quote(name) + ": no such node");
  NodeState before = cluster_.node(*n).state;
  cluster_.setState(*n, s);
  Plan plan;
  if (s == NodeState::kReady && before != NodeState::kReady) {
    NodeSet only = cluster_.emptySet();
    only.set(*n);
    for (const auto& g : globals_) placeGlobal(g, &only, plan);
  }
  if (s != NodeState::kDown) return plan;
  // Take every task off the node first, so none is placed back onto it, then place the
  // replicated ones again service by service (in the order they sat on the node).
  std::vector<TaskIndex> lost = cluster_.tasksOn(*n);
  std::vector<std::pair<std::shared_ptr<const TaskSpec>, std::vector<std::string>>> batches;
  for (TaskIndex t : lost) {
    const Task& task = cluster_.task(t);
    auto spec = task.spec;
    std::string id = task.id;
    cluster_.remove(t);
    bool global = std::any_of(globals_.begin(), globals_.end(),
                              [&](auto& g) { return g->service == spec->service; });
    if (global) {
      plan.removed.push_back(id);
      continue;
    }
    auto it =
        std::find_if(batches.begin(), batches.end(), [&](auto& x) { return x.first == spec; });
    if (it == batches.end()) it = batches.insert(batches.end(), {spec, {}});
    it->second.push_back(std::move(id));
  }
  // Tasks that stay may have hard affinity to these in a domain ("same zone as the
  // cache"): keep the moved tasks in the lost node's domains when they fit there.
  NodeSet near = cluster_.ready();
  for (const auto& [scope, _] : cluster_.affinityScopes()) {
    const LabelKey* key = cluster_.labelKey("node.labels." + scope);
    if (const NodeSet* d = key ? cluster_.domainOf(*key, *n) : nullptr) near &= *d;
  }
  for (const auto& [spec, ids] : batches) placeBatch(spec, ids, plan, &near);
  return plan;
}

Status Scheduler::restore(std::string id, std::shared_ptr<const TaskSpec> spec,
                          std::string_view node) {
  auto n = cluster_.findNode(node);
  if (!n) return notFound("restore task " + quote(id) + ": no node " + quote(node));
  if (cluster_.findTask(id)) return alreadyExists("restore task " + quote(id) + ": id taken");
  foreign_ids_.insert(spec->service);
  cluster_.place(std::move(id), std::move(spec), *n);
  return okStatus();
}

}  // namespace berth::scheduler
