#pragma once
// A set of dense node indices as a bitset. The scheduler keeps one per label value, per
// load bucket and per host port, and narrows a service's candidates with word-wide
// and/or/and-not instead of visiting nodes one by one. Not thread-safe (nothing in the
// scheduler is: the caller owns the one thread that drives it).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace berth::scheduler {

using NodeId = uint32_t;

class NodeSet {
 public:
  NodeSet() = default;
  explicit NodeSet(size_t size, bool full = false) { resize(size, full); }

  // Grows (or shrinks) to hold node ids below size; new ids are members when full.
  void resize(size_t size, bool full = false);
  size_t size() const { return size_; }

  bool has(NodeId n) const { return (words_[n >> 6] >> (n & 63)) & 1; }
  void set(NodeId n) { words_[n >> 6] |= uint64_t{1} << (n & 63); }
  void reset(NodeId n) { words_[n >> 6] &= ~(uint64_t{1} << (n & 63)); }
  void clear();
  void fill();

  NodeSet& operator&=(const NodeSet& o);
  NodeSet& operator|=(const NodeSet& o);
  NodeSet& andNot(const NodeSet& o);  // removes o's members
  NodeSet complement() const;

  size_t count() const;
  // count() <= k, stopping as soon as it is not (cheap for large sets).
  bool atMost(size_t k) const;
  bool empty() const;
  bool intersects(const NodeSet& o) const;

  const std::vector<uint64_t>& words() const { return words_; }

  // Calls f(id) for each member in increasing order, starting at id `from` and wrapping
  // around; stops early when f returns true. Returns whether some f returned true.
  template <typename F>
  bool findFrom(NodeId from, F&& f) const {
    return scan(from, size_, f) || scan(0, from, f);
  }
  // As findFrom, over the members of both this set and o.
  template <typename F>
  bool findInBoth(const NodeSet& o, NodeId from, F&& f) const {
    return scan(from, size_, f, &o) || scan(0, from, f, &o);
  }
  template <typename F>
  void forEach(F&& f) const {
    auto each = [&](NodeId n) {
      f(n);
      return false;
    };
    scan(0, size_, each);
  }

 private:
  // Members in [begin, end) in order until f returns true.
  template <typename F>
  bool scan(NodeId begin, NodeId end, F& f, const NodeSet* also = nullptr) const {
    if (begin >= end) return false;
    size_t w = begin >> 6;
    auto word = [&](size_t i) { return also ? words_[i] & also->words_[i] : words_[i]; };
    uint64_t bits = word(w) & (~uint64_t{0} << (begin & 63));
    const size_t last = (end - 1) >> 6;
    for (;;) {
      while (bits) {
        NodeId n = static_cast<NodeId>((w << 6) + std::countr_zero(bits));
        if (n >= end) return false;
        if (f(n)) return true;
        bits &= bits - 1;
      }
      if (++w > last) return false;
      bits = word(w);
    }
  }

  void trim();  // clears bits past size_ in the last word
  std::vector<uint64_t> words_;
  size_t size_ = 0;
};

}  // namespace berth::scheduler
