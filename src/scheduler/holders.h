#pragma once
// Holders: how many tasks of a kind each node holds, for the nodes that hold any. An
// open-addressing table (linear probing, backward-shift deletion) keyed by node id: the
// scheduler bumps one per selector on every placement, and std::unordered_map's
// allocation per new node cost more than the rest of a placement.

#include <cstdint>
#include <vector>

#include "scheduler/node_set.h"

namespace berth::scheduler {

class Holders {
 public:
  // Adds delta to n's count (which must not go below 0); returns the new count. A count
  // that reaches 0 removes n.
  uint32_t add(NodeId n, int delta);
  uint32_t get(NodeId n) const;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // f(node, count) for each holder, in table order.
  template <typename F>
  void forEach(F&& f) const {
    for (const Slot& s : slots_)
      if (s.node != kEmpty) f(s.node, s.count);
  }

 private:
  static constexpr NodeId kEmpty = ~NodeId{0};
  struct Slot {
    NodeId node = kEmpty;
    uint32_t count = 0;
  };
  size_t home(NodeId n) const { return (n * 0x9e3779b1u) & (slots_.size() - 1); }
  void grow();

  std::vector<Slot> slots_;  // size a power of two, at most 3/4 full
  size_t size_ = 0;
};

}  // namespace berth::scheduler
