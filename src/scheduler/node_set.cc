#include "scheduler/node_set.h"

#include <algorithm>

namespace berth::scheduler {

void NodeSet::resize(size_t size, bool full) {
  size_t old = size_;
  words_.resize((size + 63) / 64, 0);
  size_ = size;
  if (full)
    for (size_t n = old; n < size; ++n) set(static_cast<NodeId>(n));
  trim();
}

void NodeSet::clear() { std::fill(words_.begin(), words_.end(), 0); }

void NodeSet::fill() {
  std::fill(words_.begin(), words_.end(), ~uint64_t{0});
  trim();
}

void NodeSet::trim() {
  if (size_ & 63) words_.back() &= (uint64_t{1} << (size_ & 63)) - 1;
}

NodeSet& NodeSet::operator&=(const NodeSet& o) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= i < o.words_.size() ? o.words_[i] : 0;
  return *this;
}

NodeSet& NodeSet::operator|=(const NodeSet& o) {
  size_t n = std::min(words_.size(), o.words_.size());
  for (size_t i = 0; i < n; ++i) words_[i] |= o.words_[i];
  trim();
  return *this;
}

NodeSet& NodeSet::andNot(const NodeSet& o) {
  size_t n = std::min(words_.size(), o.words_.size());
  for (size_t i = 0; i < n; ++i) words_[i] &= ~o.words_[i];
  return *this;
}

NodeSet NodeSet::complement() const {
  NodeSet c = *this;
  for (auto& w : c.words_) w = ~w;
  c.trim();
  return c;
}

size_t NodeSet::count() const {
  size_t c = 0;
  for (uint64_t w : words_) c += std::popcount(w);
  return c;
}

bool NodeSet::atMost(size_t k) const {
  size_t c = 0;
  for (uint64_t w : words_) {
    if (w == 0) continue;
    c += std::popcount(w);
    if (c > k) return false;
  }
  return true;
}

bool NodeSet::empty() const {
  return std::all_of(words_.begin(), words_.end(), [](uint64_t w) { return w == 0; });
}

bool NodeSet::intersects(const NodeSet& o) const {
  size_t n = std::min(words_.size(), o.words_.size());
  for (size_t i = 0; i < n; ++i)
    if (words_[i] & o.words_[i]) return true;
  return false;
}

}  // namespace berth::scheduler
