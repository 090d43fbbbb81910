#pragma once
// Builders for the scheduler's tests.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "scheduler/batch.h"
#include "scheduler/cluster.h"
#include "scheduler/filters/filter.h"

namespace berth::scheduler::testing {

inline constexpr int64_t kGiB = int64_t{1} << 30;

inline NodeSpec node(std::string name, std::map<std::string, std::string> labels = {},
                     int64_t cpu = 4000, int64_t memory = 8 * kGiB, int32_t max_tasks = 0) {
  NodeSpec n;
  n.name = std::move(name);
  n.labels = std::move(labels);
  n.capacity = {cpu, memory};
  n.max_tasks = max_tasks;
  return n;
}

inline TaskSpec task(std::string service, int64_t cpu = 100, int64_t memory = kGiB / 4) {
  TaskSpec t;
  t.service = std::move(service);
  t.request = {cpu, memory};
  return t;
}

inline AffinityRule rule(Selector::Kind kind, std::string name, std::string scope = "",
                         bool anti = false, bool hard = true, std::string value = "") {
  AffinityRule r;
  r.target = {kind, std::move(name), std::move(value)};
  r.scope = std::move(scope);
  r.anti = anti;
  r.hard = hard;
  return r;
}

// A cluster to run one filter against.
class FilterTest : public ::testing::Test {
 protected:
  NodeId add(NodeSpec n) {
    auto id = cluster_.addNode(std::move(n));
    EXPECT_TRUE(id.ok());
    return *id;
  }
  void put(const TaskSpec& spec, std::string id, NodeId n) {
    cluster_.place(std::move(id), std::make_shared<const TaskSpec>(spec), n);
  }
  // The candidates the filter leaves of all nodes, as names.
  std::vector<std::string> narrowed(const Filter& f, const TaskSpec& spec,
                                    std::string task_id = "new.1") {
    Batch b{cluster_, spec, std::move(task_id)};
    NodeSet all = cluster_.emptySet();
    for (NodeId n = 0; n < cluster_.nodeCount(); ++n) all.set(n);
    f.narrow(b, all);
    if (f.perTask(b)) f.narrowTask(b, all);
    std::vector<std::string> names;
    all.forEach([&](NodeId n) { names.push_back(cluster_.node(n).name); });
    // narrow() and reject() must agree node by node.
    for (NodeId n = 0; n < cluster_.nodeCount(); ++n)
      EXPECT_EQ(all.has(n), f.reject(b, n).empty())
          << cluster_.node(n).name << ": " << f.reject(b, n);
    return names;
  }
  std::string why(const Filter& f, const TaskSpec& spec, NodeId n, std::string task_id = "new.1") {
    Batch b{cluster_, spec, std::move(task_id)};
    return f.reject(b, n);
  }

  Cluster cluster_;
};

// Four nodes: a and b in zone east, c in west, d without a zone.
class ZonedFilterTest : public FilterTest {
 protected:
  void SetUp() override {
    a_ = add(node("a", {{"zone", "east"}}));
    b_ = add(node("b", {{"zone", "east"}}));
    c_ = add(node("c", {{"zone", "west"}}));
    d_ = add(node("d"));
  }
  // A task of service `service` with one rule.
  static TaskSpec with(AffinityRule r, std::string service = "web") {
    TaskSpec t = task(std::move(service));
    t.affinities.push_back(std::move(r));
    return t;
  }
  NodeId a_ = 0, b_ = 0, c_ = 0, d_ = 0;
};

}  // namespace berth::scheduler::testing
