#include "image/sha256_pipeline.h"

#include <system_error>

namespace berth::image {

Sha256Pipeline::Sha256Pipeline(size_t block_size) : block_size_(block_size) {
  // Not zeroed: the pages fault in as the blocks are first filled, off the helper's path,
  // instead of all at once before the first block (~0.6 ms per MiB here).
  for (auto& s : slots_) s = std::make_unique_for_overwrite<char[]>(block_size);
  try {
    helper_ = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    // No thread to be had (EAGAIN under a thread limit): acquire() and finish() hash here
    // instead, slower but the same digest.
  }
}

Sha256Pipeline::~Sha256Pipeline() {
  if (!helper_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    abandon_ = true;
  }
  cv_.notify_all();
  helper_.join();
}

char* Sha256Pipeline::acquire() {
  // The slot of block `committed_` last held block committed_ - kSlots.
  if (!helper_.joinable()) {
    if (hashed_ + kSlots <= committed_) hashHere(committed_ + 1 - kSlots);
    return slots_[committed_ % kSlots].get();
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return hashed_ + kSlots > committed_; });
  return slots_[committed_ % kSlots].get();
}

void Sha256Pipeline::commit(size_t size) {
  {
    std::lock_guard lock(mu_);
    sizes_[committed_ % kSlots] = size;
    ++committed_;
  }
  if (helper_.joinable()) cv_.notify_all();
}

void Sha256Pipeline::hashHere(uint64_t upto) {
  if (!sha_) sha_.emplace();
  for (; hashed_ < upto; ++hashed_) {
    size_t slot = hashed_ % kSlots;
    sha_->update(slots_[slot].get(), sizes_[slot]);
  }
}

void Sha256Pipeline::run() {
  // The first use of OpenSSL in a process loads its configuration (~1 ms): here, while the
  // caller reads the first block.
  sha_.emplace();
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return abandon_ || finishing_ || hashed_ < committed_; });
    if (abandon_ || hashed_ == committed_) return;  // finishing_ and nothing left
    size_t slot = hashed_ % kSlots;
    size_t size = sizes_[slot];
    lock.unlock();
    sha_->update(slots_[slot].get(), size);
    lock.lock();
    ++hashed_;
    cv_.notify_all();
  }
}

Digest Sha256Pipeline::finish() {
  if (helper_.joinable()) {
    {
      std::lock_guard lock(mu_);
      finishing_ = true;
    }
    cv_.notify_all();
    helper_.join();
  }
  hashHere(committed_);  // all of them if there was no helper
  return sha_->finish();
}

}  // namespace berth::image
