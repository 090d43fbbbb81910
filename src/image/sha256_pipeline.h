#pragma once
// SHA-256 of a stream of blocks, computed on a helper thread while the caller goes on
// reading and writing. SHA-256 runs at ~1.4 GB/s per core even with SHA-NI: about what the
// kernel takes to copy the same bytes in and out of the page cache, so on the caller's
// thread it nearly doubles the time of unpacking an uncompressed layer (bench/RESULTS.md).
//
// The pipeline owns a ring of kSlots buffers. The caller fills them one at a time:
//
//   char* b = p.acquire();   // waits until the helper is done with what b held before
//   size_t n = fill(b, p.blockSize());
//   p.commit(n);             // queues b[0, n) for hashing
//
// A committed block is only read by the helper, never changed, and its slot comes back from
// acquire() only kSlots blocks later: so the caller may go on reading the block it committed
// last (a tar reader parsing it) until its next acquire().
//
// The helper thread starts with the pipeline, so that it sets the hash up while the caller
// reads the first block (if no thread can be started, acquire() and finish() hash on the
// caller's thread), and is joined by finish() or the destructor, which abandons what is not
// hashed yet. One caller thread at a time; not copyable.

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "image/digest.h"

namespace berth::image {

class Sha256Pipeline {
 public:
  static constexpr size_t kSlots = 4;

  explicit Sha256Pipeline(size_t block_size);
  ~Sha256Pipeline();
  Sha256Pipeline(const Sha256Pipeline&) = delete;
  Sha256Pipeline& operator=(const Sha256Pipeline&) = delete;

  size_t blockSize() const { return block_size_; }
  // The buffer for the next block (blockSize() bytes); the same one again until commit().
  // REQUIRES: finish() was not called.
  char* acquire();
  // Queues the first `size` bytes of the buffer acquire() returned last. 0 is allowed.
  void commit(size_t size);
  // Waits for every committed block to be hashed; the digest of all of them in order.
  // REQUIRES: called once.
  Digest finish();

 private:
  void run();                    // the helper thread
  void hashHere(uint64_t upto);  // hashes blocks [hashed_, upto) on the caller's thread

  const size_t block_size_;
  std::array<std::unique_ptr<char[]>, kSlots> slots_;
  std::array<size_t, kSlots> sizes_ = {};  // of the block each slot holds
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t committed_ = 0;     // GUARDED_BY(mu_): blocks committed; block b is in slot b % kSlots
  uint64_t hashed_ = 0;        // GUARDED_BY(mu_): blocks the helper has hashed
  bool finishing_ = false;     // GUARDED_BY(mu_): hash what is left, then stop
  bool abandon_ = false;       // GUARDED_BY(mu_): stop now
  std::optional<Sha256> sha_;  // the helper's while it runs, the caller's after
  std::thread helper_;
};

}  // namespace berth::image
