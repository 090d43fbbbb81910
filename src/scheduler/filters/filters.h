#pragma once
// The filters, one file each; registry.cc lists them in the order explanations use.

#include "scheduler/filters/filter.h"

namespace berth::scheduler {

// Only ready nodes take tasks ("node down", "node draining").
class NodeStateFilter : public Filter {
 public:
  std::string_view name() const override { return "node state"; }
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
};

// Constraints on node fields and labels ("label zone!=east").
class ConstraintFilter : public Filter {
 public:
  std::string_view name() const override { return "constraints"; }
  bool applies(const TaskSpec& s) const override { return !s.constraints.empty(); }
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
};

// Hard affinity, co-location with a named task included ("no task of service 'cache'
// on the node").
class AffinityFilter : public Filter {
 public:
  std::string_view name() const override { return "affinity"; }
  bool applies(const TaskSpec& s) const override;
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
  void afterPlace(const Batch& b, NodeId placed, NodeSet& c) const override;
};

// Hard anti-affinity, both the task's own rules and those of tasks already placed that
// refuse it ("task of service 'db' on the node").
class AntiAffinityFilter : public Filter {
 public:
  std::string_view name() const override { return "anti-affinity"; }
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
  void afterPlace(const Batch& b, NodeId placed, NodeSet& c) const override;
  bool perTask(const Batch& b) const override { return b.cluster.anyTaskAntiDeclared(); }
  void narrowTask(const Batch& b, NodeSet& c) const override;
};

// At most max_per_node tasks of the service on one node.
class MaxPerNodeFilter : public Filter {
 public:
  std::string_view name() const override { return "max per node"; }
  bool applies(const TaskSpec& s) const override { return s.max_per_node > 0; }
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
  void afterPlace(const Batch& b, NodeId placed, NodeSet& c) const override;
};

// Host ports are exclusive per node ("port 80 taken").
class HostPortFilter : public Filter {
 public:
  std::string_view name() const override { return "host ports"; }
  bool applies(const TaskSpec& s) const override { return !s.host_ports.empty(); }
  void narrow(const Batch& b, NodeSet& c) const override;
  std::string reject(const Batch& b, NodeId n) const override;
  void afterPlace(const Batch& b, NodeId placed, NodeSet& c) const override;
  bool capacity() const override { return true; }
};

// CPU and memory: requests fit in what the node has left (lazy).
class ResourceFilter : public Filter {
 public:
  std::string_view name() const override { return "resources"; }
  std::string reject(const Batch& b, NodeId n) const override;
  bool lazy() const override { return true; }
  bool capacity() const override { return true; }
  bool accepts(const Batch& b, NodeId n) const override;
};

// The node's task slots (max_tasks) (lazy).
class TaskSlotFilter : public Filter {
 public:
  std::string_view name() const override { return "task slots"; }
  std::string reject(const Batch& b, NodeId n) const override;
  bool lazy() const override { return true; }
  bool capacity() const override { return true; }
  bool accepts(const Batch& b, NodeId n) const override;
};

}  // namespace berth::scheduler
