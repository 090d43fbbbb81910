#include "scheduler/holders.h"

#include <utility>

namespace berth::scheduler {

void Holders::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 8 : old.size() * 2, Slot{});
  size_ = 0;
  for (const Slot& s : old)
    if (s.node != kEmpty) add(s.node, static_cast<int>(s.count));
}

uint32_t Holders::get(NodeId n) const {
  if (slots_.empty()) return 0;
  for (size_t i = home(n);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i].node == n) return slots_[i].count;
    if (slots_[i].node == kEmpty) return 0;
  }
}

uint32_t Holders::add(NodeId n, int delta) {
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();
  const size_t mask = slots_.size() - 1;
  size_t i = home(n);
  while (slots_[i].node != n && slots_[i].node != kEmpty) i = (i + 1) & mask;
  if (slots_[i].node == kEmpty) {
    if (delta <= 0) return 0;
    slots_[i] = {n, 0};
    ++size_;
  }
  slots_[i].count += delta;
  uint32_t now = slots_[i].count;
  if (now != 0) return now;
  // Backward-shift deletion: pull later entries of the probe run into the hole.
  slots_[i] = Slot{};
  --size_;
  for (size_t j = (i + 1) & mask; slots_[j].node != kEmpty; j = (j + 1) & mask) {
    size_t h = home(slots_[j].node);
    // Move j into the hole at i unless its home lies cyclically in (i, j].
    bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    slots_[j] = Slot{};
    i = j;
  }
  return 0;
}

}  // namespace berth::scheduler
