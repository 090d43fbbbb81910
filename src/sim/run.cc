#include "sim/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <unordered_map>

#include "scheduler/scheduler.h"

namespace berth::sim {

namespace {

double cpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double stddev(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= v.size();
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / v.size());
}

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

void countReasons(const sched::Plan& plan, std::map<std::string, size_t>& reasons) {
  for (const auto& u : plan.unplaced) ++reasons[u.reason];
}

}  // namespace

Assignment snapshot(const sched::Cluster& c) {
  Assignment a;
  for (sched::NodeId n = 0; n < c.nodeCount(); ++n) a.nodes.push_back(c.node(n));
  for (sched::TaskIndex t = 0; t < c.taskSlots(); ++t) {
    const auto& task = c.task(t);
    if (task.live) a.tasks.push_back({task.id, task.spec, task.node});
  }
  return a;
}

Result<Report> runScenario(const Scenario& s, bool check) {
  std::vector<sched::NodeSpec> nodes = generateNodes(s.cluster, s.seed);
  nodes.insert(nodes.end(), s.nodes.begin(), s.nodes.end());
  std::vector<sched::ServiceSpec> services = generateServices(s.workload, s.cluster, s.seed);
  services.insert(services.end(), s.services.begin(), s.services.end());

  Report r;
  sched::Scheduler scheduler(s.seed);
  for (auto& n : nodes) {
    auto plan = scheduler.addNode(n);
    if (!plan) return plan.error().context("simulate");
  }
  std::vector<float> latencies;
  latencies.reserve(s.workload.tasks + 1024);
  scheduler.recordLatencies(&latencies);
  std::map<std::string, size_t> reasons;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = cpuNow();
  for (const auto& svc : services) {
    auto plan = scheduler.schedule(svc);
    if (!plan) return plan.error().context("simulate");
    r.placed += plan->placed.size();
    r.unplaced += plan->unplaced.size();
    countReasons(*plan, reasons);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.cpu_seconds = cpuNow() - cpu_start;
  r.nodes = nodes.size();
  r.services = services.size();
  r.requested = r.placed + r.unplaced;
  r.p50_us = percentile(latencies, 0.50);
  r.p99_us = percentile(latencies, 0.99);
  r.max_us = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());

  const sched::Cluster& c = scheduler.cluster();
  std::vector<double> per_node;
  std::unordered_map<std::string, double> per_zone;
  double cpu = 0, cpu_cap = 0, mem = 0, mem_cap = 0;
  for (sched::NodeId n = 0; n < c.nodeCount(); ++n) {
    if (c.node(n).state != sched::NodeState::kReady) continue;
    per_node.push_back(c.taskCount(n));
    auto z = c.node(n).labels.find("zone");
    if (z != c.node(n).labels.end()) per_zone[z->second] += c.taskCount(n);
    cpu += c.allocated(n).cpu_milli;
    cpu_cap += c.node(n).capacity.cpu_milli;
    mem += c.allocated(n).memory;
    mem_cap += c.node(n).capacity.memory;
  }
  r.cpu_percent = cpu_cap > 0 ? 100 * cpu / cpu_cap : 0;
  r.memory_percent = mem_cap > 0 ? 100 * mem / mem_cap : 0;
  r.node_stddev = stddev(per_node);
  r.tasks_per_node = per_node.empty() ? 0 : r.placed / static_cast<double>(per_node.size());
  std::vector<double> zones;
  for (const auto& [_, count] : per_zone) zones.push_back(count);
  r.zone_stddev = stddev(zones);

  if (check) {
    r.checked = true;
    r.check = sim::check(snapshot(c));
  }
  if (s.down > 0 && !nodes.empty()) {
    // Fail every k-th node; then every task not on them must still be where it was.
    std::unordered_map<std::string, sched::NodeId> before;
    for (sched::TaskIndex t = 0; t < c.taskSlots(); ++t)
      if (c.task(t).live) before.emplace(c.task(t).id, c.task(t).node);
    size_t step = std::max<size_t>(1, nodes.size() / s.down);
    std::vector<sched::NodeId> failed;
    for (size_t i = 0; i < nodes.size() && failed.size() < s.down; i += step)
      failed.push_back(static_cast<sched::NodeId>(i));
    std::vector<bool> is_failed(c.nodeCount());
    for (auto n : failed) {
      is_failed[n] = true;
      r.lost += c.taskCount(n);
    }
    auto t0 = std::chrono::steady_clock::now();
    for (auto n : failed) {
      auto plan = scheduler.setNodeState(nodes[n].name, sched::NodeState::kDown);
      if (!plan) return plan.error().context("simulate");
      r.moved += plan->placed.size();
      r.lost_unplaced += plan->unplaced.size();
      countReasons(*plan, reasons);
    }
    r.down_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.down = failed.size();
    for (sched::TaskIndex t = 0; t < c.taskSlots(); ++t) {
      const auto& task = c.task(t);
      if (!task.live) continue;
      auto it = before.find(task.id);
      if (it != before.end() && !is_failed[it->second] && it->second != task.node) ++r.others_moved;
    }
  }
  for (const auto& [why, count] : reasons) r.reasons.emplace_back(why, count);
  std::sort(r.reasons.begin(), r.reasons.end(),
            [](const auto& x, const auto& y) { return x.second > y.second; });
  if (check && r.down) r.after_down = sim::check(snapshot(c));
  return r;
}

std::string formatReport(const Report& r) {
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  add("nodes %zu, services %zu, tasks %zu\n", r.nodes, r.services, r.requested);
  add("placed %zu, unplaced %zu in %.3f s: %.0f placements/s\n", r.placed, r.unplaced, r.seconds,
      r.seconds > 0 ? r.placed / r.seconds : 0.0);
  add("cpu time: %.3f s (%.0f placements per cpu-second)\n", r.cpu_seconds,
      r.cpu_seconds > 0 ? r.placed / r.cpu_seconds : 0.0);
  add("latency per task: p50 %.2f us, p99 %.2f us, max %.0f us\n", r.p50_us, r.p99_us, r.max_us);
  add("utilisation: cpu %.1f%%, memory %.1f%%\n", r.cpu_percent, r.memory_percent);
  add("balance: %.1f tasks per node (stddev %.2f), stddev across zones %.1f\n", r.tasks_per_node,
      r.node_stddev, r.zone_stddev);
  if (r.down)
    add("node failure: %zu nodes down, %zu tasks lost, %zu placements to move them, %zu unplaced, "
        "%zu others "
        "moved, in %.3f s\n",
        r.down, r.lost, r.moved, r.lost_unplaced, r.others_moved, r.down_seconds);
  size_t shown = 0;
  for (const auto& [why, count] : r.reasons) {
    if (shown++ == 5) break;
    add("unplaced %zu: %s\n", count, why.c_str());
  }
  if (r.checked) {
    add("violations: %zu (independent checker, after placement)\n", r.check.violations);
    for (const auto& e : r.check.examples) add("  %s\n", e.c_str());
    if (r.down) {
      add("violations after the failures: %zu (all kinds; a task that stays put can lose its hard "
          "affinity target)\n",
          r.after_down.violations);
      for (size_t i = 0; i < r.after_down.examples.size() && i < 3; ++i)
        add("  %s\n", r.after_down.examples[i].c_str());
    }
  } else {
    out += "violations: not checked\n";
  }
  return out;
}

}  // namespace berth::sim
