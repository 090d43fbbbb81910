#include "scheduler/cluster.h"

#include <algorithm>

#include "common/strings.h"

namespace berth::scheduler {

namespace {

int perMille(int64_t used, int64_t cap) {
  if (cap <= 0) return 0;
  if (used >= cap) return 1000;
  return static_cast<int>(used * 1000 / cap);
}

}  // namespace

std::string Cluster::selectorKey(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::kService:
      return "s:" + s.name;
    case Selector::Kind::kLabel:
      return "l:" + s.name + "=" + s.value;
    case Selector::Kind::kTask:
      return "t:" + s.name;
  }
  return s.name;
}

void Cluster::grow() {
  capacity_ = std::max<size_t>(64, capacity_ * 2);
  ready_.resize(capacity_);
  for (auto& [_, k] : labels_) {
    for (auto& s : k.nodes) s.resize(capacity_);
    k.any.resize(capacity_);
  }
  for (auto& b : buckets_) b.resize(capacity_);
  for (auto& [_, s] : port_users_) s.resize(capacity_);
}

void Cluster::indexLabel(const std::string& key, const std::string& value, NodeId n) {
  LabelKey& k = labels_[key];
  if (k.any.size() != capacity_) k.any.resize(capacity_);
  auto [it, fresh] = k.ids.try_emplace(value, static_cast<int32_t>(k.values.size()));
  if (fresh) {
    k.values.push_back(value);
    k.nodes.emplace_back(capacity_);
  }
  k.nodes[it->second].set(n);
  k.any.set(n);
  if (k.of_node.size() <= n) k.of_node.resize(n + 1, -1);
  k.of_node[n] = it->second;
}

Result<NodeId> Cluster::addNode(NodeSpec spec) {
  if (spec.name.empty()) return invalidArgument("add node: empty name");
  if (spec.capacity.cpu_milli < 0 || spec.capacity.memory < 0 || spec.max_tasks < 0)
    return invalidArgument("add node " + quote(spec.name) + ": negative capacity");
  if (by_name_.count(spec.name))
    return alreadyExists("add node " + quote(spec.name) + ": name taken");
  NodeId n = static_cast<NodeId>(nodes_.size());
  if (n >= capacity_) grow();
  by_name_.emplace(spec.name, n);
  indexLabel("node.role", spec.role, n);
  for (const auto& [k, v] : spec.labels) indexLabel("node.labels." + k, v, n);
  for (auto& [_, k] : labels_) k.of_node.resize(n + 1, -1);  // keys this node lacks
  nodes_.push_back(NodeRec{std::move(spec), {}, {}, {}, 0});
  buckets_[0].set(n);
  ++bucket_count_[0];
  if (nodes_[n].spec.state == NodeState::kReady) ready_.set(n);
  return n;
}

std::optional<NodeId> Cluster::findNode(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

void Cluster::setState(NodeId n, NodeState s) {
  nodes_[n].spec.state = s;
  if (s == NodeState::kReady)
    ready_.set(n);
  else
    ready_.reset(n);
}

bool Cluster::portUsed(NodeId n, uint16_t port) const {
  const auto& p = nodes_[n].ports;
  return std::find(p.begin(), p.end(), port) != p.end();
}

const LabelKey* Cluster::labelKey(std::string_view key) const {
  auto it = labels_.find(std::string(key));
  return it == labels_.end() ? nullptr : &it->second;
}

const NodeSet* Cluster::domainOf(const LabelKey& key, NodeId n) const {
  int32_t v = n < key.of_node.size() ? key.of_node[n] : -1;
  return v < 0 ? nullptr : &key.nodes[v];
}

const NodeSet* Cluster::portUsers(uint16_t port) const {
  auto it = port_users_.find(port);
  return it == port_users_.end() ? nullptr : &it->second;
}

uint32_t Cluster::holdersOn(const Selector& s, NodeId n) const {
  if (s.kind == Selector::Kind::kTask) {
    auto t = findTask(s.name);
    return t && tasks_[*t].node == n ? 1 : 0;
  }
  auto it = holders_.find(selectorKey(s));
  if (it == holders_.end()) return 0;
  return it->second.get(n);
}

const std::unordered_map<std::string, Holders>* Cluster::declaredAnti(const Selector& s) const {
  auto it = declared_anti_.find(selectorKey(s));
  return it == declared_anti_.end() ? nullptr : &it->second;
}

int Cluster::computeLoad(const NodeRec& r) const {
  int l = std::max(perMille(r.allocated.cpu_milli, r.spec.capacity.cpu_milli),
                   perMille(r.allocated.memory, r.spec.capacity.memory));
  return std::max(l, perMille(static_cast<int64_t>(r.tasks.size()), r.spec.max_tasks));
}

void Cluster::updateLoad(NodeId n) {
  NodeRec& r = nodes_[n];
  int l = computeLoad(r);
  if (l == r.load) return;
  buckets_[r.load].reset(n);
  --bucket_count_[r.load];
  buckets_[l].set(n);
  ++bucket_count_[l];
  r.load = l;
}

void Cluster::addHolder(const std::string& key, NodeId n, int delta) {
  Holders& h = holders_[key];
  if (h.add(n, delta) == 0) {
    if (h.empty()) {
      holders_.erase(key);
      cached_spec_ = nullptr;
    }
  }
}

const std::vector<Holders*>& Cluster::holderMapsOf(const std::shared_ptr<const TaskSpec>& spec) {
  if (spec == cached_spec_) return cached_maps_;
  cached_maps_.clear();
  cached_maps_.push_back(&holders_["s:" + spec->service]);
  for (const auto& [k, v] : spec->labels) cached_maps_.push_back(&holders_["l:" + k + "=" + v]);
  cached_spec_ = spec;
  return cached_maps_;
}

void Cluster::reserveTasks(size_t more) {
  // Geometric growth: reserving exactly what each batch needs would rehash every time.
  size_t need = tasks_.size() + more;
  if (need > tasks_.capacity()) tasks_.reserve(std::max(need, 2 * tasks_.capacity()));
  need = task_by_id_.size() + more;
  if (need > task_by_id_.bucket_count() * task_by_id_.max_load_factor())
    task_by_id_.reserve(std::max(need, 2 * task_by_id_.size()));
}

TaskIndex Cluster::place(std::string id, std::shared_ptr<const TaskSpec> spec, NodeId n) {
  TaskIndex t = static_cast<TaskIndex>(tasks_.size());
  task_by_id_.emplace(id, t);
  NodeRec& r = nodes_[n];
  r.allocated.cpu_milli += spec->request.cpu_milli;
  r.allocated.memory += spec->request.memory;
  r.tasks.push_back(t);
  for (uint16_t p : spec->host_ports) {
    r.ports.push_back(p);
    auto [it, fresh] = port_users_.try_emplace(p);
    if (fresh) it->second.resize(capacity_);
    it->second.set(n);
  }
  for (Holders* h : holderMapsOf(spec)) h->add(n, 1);
  for (const auto& a : spec->affinities) {
    if (!a.anti && a.hard && !a.scope.empty()) ++affinity_scopes_[a.scope];
    if (!a.anti || !a.hard) continue;
    declared_anti_[selectorKey(a.target)][a.scope].add(n, 1);
    if (a.target.kind == Selector::Kind::kTask) ++task_anti_declared_;
  }
  tasks_.push_back(Task{std::move(id), std::move(spec), n, true});
  updateLoad(n);
  return t;
}

void Cluster::remove(TaskIndex t) {
  Task& task = tasks_[t];
  if (!task.live) return;
  task.live = false;
  task_by_id_.erase(task.id);
  NodeId n = task.node;
  NodeRec& r = nodes_[n];
  const TaskSpec& spec = *task.spec;
  r.allocated.cpu_milli -= spec.request.cpu_milli;
  r.allocated.memory -= spec.request.memory;
  r.tasks.erase(std::find(r.tasks.begin(), r.tasks.end(), t));
  for (uint16_t p : spec.host_ports) {
    r.ports.erase(std::find(r.ports.begin(), r.ports.end(), p));
    if (!portUsed(n, p)) port_users_[p].reset(n);
  }
  addHolder("s:" + spec.service, n, -1);
  for (const auto& [k, v] : spec.labels) addHolder("l:" + k + "=" + v, n, -1);
  for (const auto& a : spec.affinities) {
    if (!a.anti && a.hard && !a.scope.empty() && --affinity_scopes_[a.scope] == 0)
      affinity_scopes_.erase(a.scope);
    if (!a.anti || !a.hard) continue;
    auto key = selectorKey(a.target);
    auto& scopes = declared_anti_[key];
    auto& h = scopes[a.scope];
    h.add(n, -1);
    if (h.empty()) scopes.erase(a.scope);
    if (scopes.empty()) declared_anti_.erase(key);
    if (a.target.kind == Selector::Kind::kTask) --task_anti_declared_;
  }
  updateLoad(n);
}

std::optional<TaskIndex> Cluster::findTask(std::string_view id) const {
  auto it = task_by_id_.find(std::string(id));
  if (it == task_by_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace berth::scheduler
