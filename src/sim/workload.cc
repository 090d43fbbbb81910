#include "sim/workload.h"

#include <cstdio>
#include <random>

namespace berth::sim {

using sched::AffinityRule;
using sched::Selector;

namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(gen_() % (hi - lo + 1));
  }
  bool percent(int p) { return between(0, 99) < p; }

 private:
  std::mt19937_64 gen_;
};

std::string numbered(const char* prefix, size_t i, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%0*zu", prefix, width, i);
  return buf;
}

std::string zone(int64_t z) { return "z" + std::to_string(z); }

}  // namespace

std::vector<sched::NodeSpec> generateNodes(const ClusterParams& p, uint64_t seed) {
  Rng rng(seed);
  std::vector<sched::NodeSpec> nodes;
  nodes.reserve(p.nodes);
  for (size_t i = 0; i < p.nodes; ++i) {
    sched::NodeSpec n;
    n.name = numbered("n", i, 5);
    n.role = static_cast<int>(i) < p.managers ? "manager" : "worker";
    int rack = static_cast<int>(i % p.racks);
    n.labels["rack"] = "r" + std::to_string(rack);
    n.labels["zone"] = zone(rack % p.zones);
    n.labels["disk"] = rng.percent(p.ssd_percent) ? "ssd" : "hdd";
    n.capacity.cpu_milli = rng.between(p.cpu_min / 1000, p.cpu_max / 1000) * 1000;
    n.capacity.memory = rng.between(p.memory_min, p.memory_max) * kGiB;
    n.max_tasks = p.max_tasks;
    nodes.push_back(std::move(n));
  }
  return nodes;
}

std::vector<sched::ServiceSpec> generateServices(const WorkloadParams& w, const ClusterParams& c,
                                                 uint64_t seed) {
  Rng rng(seed ^ 0x5e41ce5);
  std::vector<sched::ServiceSpec> out;
  size_t left = w.tasks;
  const int64_t mean = w.services ? static_cast<int64_t>(w.tasks / w.services) : 0;
  static const char* tiers[] = {"web", "api", "db", "cache", "batch"};
  for (size_t i = 0; i < w.services; ++i) {
    sched::ServiceSpec s;
    sched::TaskSpec& t = s.task;
    t.service = numbered("svc", i, 5);
    t.labels["tier"] = tiers[rng.between(0, 4)];
    t.strategy = w.strategy;
    t.request.cpu_milli = rng.between(w.cpu_min, w.cpu_max);
    t.request.memory = rng.between(w.memory_min, w.memory_max) * kMiB;
    size_t remaining_services = w.services - i;
    int64_t replicas =
        remaining_services == 1
            ? static_cast<int64_t>(left)
            : std::min<int64_t>(left, rng.between(1, 2 * mean - 1 > 1 ? 2 * mean - 1 : 1));
    left -= replicas;
    s.replicas = static_cast<int32_t>(replicas);
    const std::string earlier = i > 0 ? numbered("svc", rng.between(0, i - 1), 5) : "";
    int kind = static_cast<int>(rng.between(0, 99));
    int edge = w.constraint_percent;
    if (kind < edge) {
      int64_t z = rng.between(0, c.zones - 1);
      switch (rng.between(0, 4)) {
        case 0:
        case 1:
          t.constraints.push_back({"node.labels.zone", sched::ConstraintOp::kEq, {zone(z)}});
          break;
        case 2:
          t.constraints.push_back({"node.labels.zone",
                                   sched::ConstraintOp::kIn,
                                   {zone(z), zone((z + 1) % c.zones), zone((z + 2) % c.zones)}});
          break;
        case 3:
          t.constraints.push_back({"node.labels.zone", sched::ConstraintOp::kNe, {zone(z)}});
          break;
        default:
          t.constraints.push_back({"node.labels.disk", sched::ConstraintOp::kEq, {"ssd"}});
      }
    } else if (kind < (edge += w.anti_affinity_percent)) {
      AffinityRule r;
      r.anti = true;
      r.target = {Selector::Kind::kService, t.service, ""};
      if (!earlier.empty() && rng.percent(30)) r.target.name = earlier;
      t.affinities.push_back(r);
    } else if (kind < (edge += w.affinity_percent)) {
      AffinityRule r;
      r.target = {Selector::Kind::kService, earlier.empty() ? t.service : earlier, ""};
      if (rng.percent(60)) {
        r.scope = "zone";
      } else {
        r.hard = false;
        r.weight = 5;
      }
      t.affinities.push_back(r);
    } else if (kind < (edge += w.spread_percent)) {
      t.spread.push_back({"zone", {{zone(0), 2}}});
    } else if (kind < (edge += w.port_percent)) {
      t.host_ports.push_back(static_cast<uint16_t>(8000 + rng.between(0, 19)));
    }
    out.push_back(std::move(s));
  }
  for (int g = 0; g < w.global_services; ++g) {
    sched::ServiceSpec s;
    s.mode = sched::Mode::kGlobal;
    s.task.service = numbered("global", g, 2);
    s.task.request = {10, 16 * kMiB};
    if (g % 2) s.task.constraints.push_back({"node.role", sched::ConstraintOp::kNe, {"manager"}});
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace berth::sim
