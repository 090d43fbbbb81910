#include "sim/scenario.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace berth::sim {

using nlohmann::json;

namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// Reads optional fields with a precise error for a wrong type. json throws on type
// mismatch; the error is caught here at the boundary and named by its path.
class Reader {
 public:
  Reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  template <typename T>
  Status get(const char* key, T& out) const {
    if (!j_.contains(key)) return okStatus();
    try {
      out = j_.at(key).get<T>();
    } catch (const json::exception& e) {
      return invalidArgument(path_ + "." + key + ": " + e.what());
    }
    return okStatus();
  }
  Status range(const char* key, int64_t& lo, int64_t& hi) const {
    std::vector<int64_t> v;
    BERTH_RETURN_IF_ERROR(get(key, v));
    if (!j_.contains(key)) return okStatus();
    if (v.size() != 2 || v[0] > v[1] || v[0] < 0)
      return invalidArgument(path_ + "." + key + ": expected [min, max] with 0 <= min <= max");
    lo = v[0];
    hi = v[1];
    return okStatus();
  }
  Status strategy(const char* key, sched::Strategy& out) const {
    std::string s;
    BERTH_RETURN_IF_ERROR(get(key, s));
    if (!j_.contains(key)) return okStatus();
    for (auto st : {sched::Strategy::kSpread, sched::Strategy::kBinpack, sched::Strategy::kRandom})
      if (s == sched::toString(st)) {
        out = st;
        return okStatus();
      }
    return invalidArgument(path_ + "." + key + ": unknown strategy " + quote(s) +
                           " (spread, binpack or random)");
  }
  const std::string& path() const { return path_; }

 private:
  const json& j_;
  std::string path_;
};

Result<sched::NodeSpec> parseNode(const json& j, const std::string& path) {
  if (!j.is_object()) return invalidArgument(path + ": expected an object");
  Reader r(j, path);
  sched::NodeSpec n;
  int64_t mib = 0;
  std::string state = "ready";
  BERTH_RETURN_IF_ERROR(r.get("name", n.name));
  BERTH_RETURN_IF_ERROR(r.get("role", n.role));
  BERTH_RETURN_IF_ERROR(r.get("labels", n.labels));
  BERTH_RETURN_IF_ERROR(r.get("cpu", n.capacity.cpu_milli));
  BERTH_RETURN_IF_ERROR(r.get("memory_mib", mib));
  BERTH_RETURN_IF_ERROR(r.get("max_tasks", n.max_tasks));
  BERTH_RETURN_IF_ERROR(r.get("state", state));
  n.capacity.memory = mib * kMiB;
  if (state == "ready")
    n.state = sched::NodeState::kReady;
  else if (state == "draining")
    n.state = sched::NodeState::kDraining;
  else if (state == "down")
    n.state = sched::NodeState::kDown;
  else
    return invalidArgument(path + ".state: unknown state " + quote(state) +
                           " (ready, draining, down)");
  if (n.name.empty()) return invalidArgument(path + ".name: missing");
  return n;
}

Result<sched::AffinityRule> parseRule(const json& j, const std::string& path) {
  if (!j.is_object()) return invalidArgument(path + ": expected an object");
  Reader r(j, path);
  sched::AffinityRule rule;
  std::string service, label, task;
  BERTH_RETURN_IF_ERROR(r.get("service", service));
  BERTH_RETURN_IF_ERROR(r.get("label", label));
  BERTH_RETURN_IF_ERROR(r.get("task", task));
  BERTH_RETURN_IF_ERROR(r.get("scope", rule.scope));
  BERTH_RETURN_IF_ERROR(r.get("anti", rule.anti));
  BERTH_RETURN_IF_ERROR(r.get("hard", rule.hard));
  BERTH_RETURN_IF_ERROR(r.get("weight", rule.weight));
  int given = !service.empty() + !label.empty() + !task.empty();
  if (given != 1) return invalidArgument(path + ": give exactly one of service, label, task");
  if (!service.empty()) rule.target = {sched::Selector::Kind::kService, service, ""};
  if (!task.empty()) rule.target = {sched::Selector::Kind::kTask, task, ""};
  if (!label.empty()) {
    auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == label.size())
      return invalidArgument(path + ".label: expected key=value, got " + quote(label));
    rule.target = {sched::Selector::Kind::kLabel, label.substr(0, eq), label.substr(eq + 1)};
  }
  return rule;
}

Result<sched::ServiceSpec> parseService(const json& j, const std::string& path) {
  if (!j.is_object()) return invalidArgument(path + ": expected an object");
  Reader r(j, path);
  sched::ServiceSpec s;
  sched::TaskSpec& t = s.task;
  std::string mode = "replicated";
  int64_t mib = 0;
  std::vector<std::string> constraints;
  BERTH_RETURN_IF_ERROR(r.get("name", t.service));
  BERTH_RETURN_IF_ERROR(r.get("replicas", s.replicas));
  BERTH_RETURN_IF_ERROR(r.get("mode", mode));
  BERTH_RETURN_IF_ERROR(r.get("cpu", t.request.cpu_milli));
  BERTH_RETURN_IF_ERROR(r.get("memory_mib", mib));
  BERTH_RETURN_IF_ERROR(r.get("ports", t.host_ports));
  BERTH_RETURN_IF_ERROR(r.get("labels", t.labels));
  BERTH_RETURN_IF_ERROR(r.get("constraints", constraints));
  BERTH_RETURN_IF_ERROR(r.get("max_per_node", t.max_per_node));
  BERTH_RETURN_IF_ERROR(r.strategy("strategy", t.strategy));
  t.request.memory = mib * kMiB;
  if (mode == "global")
    s.mode = sched::Mode::kGlobal;
  else if (mode != "replicated")
    return invalidArgument(path + ".mode: unknown mode " + quote(mode) + " (replicated, global)");
  for (size_t i = 0; i < constraints.size(); ++i) {
    auto c = sched::parseConstraint(constraints[i]);
    if (!c) return c.error().context(path + ".constraints[" + std::to_string(i) + "]");
    t.constraints.push_back(*c);
  }
  if (j.contains("affinity")) {
    if (!j["affinity"].is_array()) return invalidArgument(path + ".affinity: expected an array");
    for (size_t i = 0; i < j["affinity"].size(); ++i)
      t.affinities.push_back(
          BERTH_TRY(parseRule(j["affinity"][i], path + ".affinity[" + std::to_string(i) + "]")));
  }
  if (j.contains("spread")) {
    if (!j["spread"].is_array()) return invalidArgument(path + ".spread: expected an array");
    for (size_t i = 0; i < j["spread"].size(); ++i) {
      std::string p = path + ".spread[" + std::to_string(i) + "]";
      if (!j["spread"][i].is_object()) return invalidArgument(p + ": expected an object");
      Reader sr(j["spread"][i], p);
      sched::SpreadRule rule;
      BERTH_RETURN_IF_ERROR(sr.get("label", rule.label));
      BERTH_RETURN_IF_ERROR(sr.get("weights", rule.weights));
      t.spread.push_back(std::move(rule));
    }
  }
  return s;
}

template <typename T, typename F>
Status parseList(const json& j, const char* key, std::vector<T>& out, F&& parse) {
  if (!j.contains(key)) return okStatus();
  if (!j[key].is_array()) return invalidArgument(std::string(key) + ": expected an array");
  for (size_t i = 0; i < j[key].size(); ++i)
    out.push_back(BERTH_TRY(parse(j[key][i], std::string(key) + "[" + std::to_string(i) + "]")));
  return okStatus();
}

}  // namespace

Result<Scenario> parseScenario(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalidArgument("scenario: not valid JSON");
  if (!j.is_object()) return invalidArgument("scenario: expected a JSON object");
  Scenario s;
  Reader top(j, "scenario");
  BERTH_RETURN_IF_ERROR(top.get("seed", s.seed));
  BERTH_RETURN_IF_ERROR(top.get("down", s.down));
  if (j.contains("cluster")) {
    Reader r(j["cluster"], "cluster");
    ClusterParams& c = s.cluster;
    BERTH_RETURN_IF_ERROR(r.get("nodes", c.nodes));
    BERTH_RETURN_IF_ERROR(r.get("zones", c.zones));
    BERTH_RETURN_IF_ERROR(r.get("racks", c.racks));
    BERTH_RETURN_IF_ERROR(r.get("managers", c.managers));
    BERTH_RETURN_IF_ERROR(r.range("cpu", c.cpu_min, c.cpu_max));
    BERTH_RETURN_IF_ERROR(r.range("memory_gib", c.memory_min, c.memory_max));
    BERTH_RETURN_IF_ERROR(r.get("max_tasks", c.max_tasks));
    BERTH_RETURN_IF_ERROR(r.get("ssd_percent", c.ssd_percent));
    if (c.zones < 1 || c.racks < c.zones)
      return invalidArgument("cluster: need zones >= 1 and racks >= zones");
  }
  if (j.contains("workload")) {
    Reader r(j["workload"], "workload");
    WorkloadParams& w = s.workload;
    BERTH_RETURN_IF_ERROR(r.get("services", w.services));
    BERTH_RETURN_IF_ERROR(r.get("tasks", w.tasks));
    BERTH_RETURN_IF_ERROR(r.get("constraint_percent", w.constraint_percent));
    BERTH_RETURN_IF_ERROR(r.get("anti_affinity_percent", w.anti_affinity_percent));
    BERTH_RETURN_IF_ERROR(r.get("affinity_percent", w.affinity_percent));
    BERTH_RETURN_IF_ERROR(r.get("spread_percent", w.spread_percent));
    BERTH_RETURN_IF_ERROR(r.get("port_percent", w.port_percent));
    BERTH_RETURN_IF_ERROR(r.get("global_services", w.global_services));
    BERTH_RETURN_IF_ERROR(r.strategy("strategy", w.strategy));
    BERTH_RETURN_IF_ERROR(r.range("cpu", w.cpu_min, w.cpu_max));
    BERTH_RETURN_IF_ERROR(r.range("memory_mib", w.memory_min, w.memory_max));
    if (w.services == 0 && w.tasks > 0) return invalidArgument("workload: tasks without services");
  }
  BERTH_RETURN_IF_ERROR(parseList(j, "nodes", s.nodes, parseNode));
  BERTH_RETURN_IF_ERROR(parseList(j, "services", s.services, parseService));
  // Listing nodes or services replaces the generated ones unless asked for too.
  if (j.contains("nodes") && !j.contains("cluster")) s.cluster.nodes = 0;
  if (j.contains("services") && !j.contains("workload")) s.workload.services = s.workload.tasks = 0;
  return s;
}

}  // namespace berth::sim
