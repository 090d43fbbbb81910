#include "image/sha256_pipeline.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace berth::image {
namespace {

// Feeds `data` through the pipeline in blocks of the given sizes (cycled), as a tar reader
// does: acquire, fill, commit.
Digest pipelined(const std::string& data, size_t block_size, std::initializer_list<size_t> sizes) {
  Sha256Pipeline p(block_size);
  size_t pos = 0;
  auto next = sizes.begin();
  while (pos < data.size()) {
    size_t n = std::min({*next, data.size() - pos, p.blockSize()});
    if (++next == sizes.end()) next = sizes.begin();
    char* b = p.acquire();
    std::memcpy(b, data.data() + pos, n);
    p.commit(n);
    pos += n;
  }
  return p.finish();
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7919) >> 3);
  return s;
}

TEST(Sha256Pipeline, HashesTheBlocksInOrder) {
  // Many more blocks than slots, so each slot is reused while the helper runs behind.
  std::string data = pattern(1 << 20);
  EXPECT_EQ(pipelined(data, 4096, {4096, 1, 0, 3000, 4095}), sha256Of(data));
}

TEST(Sha256Pipeline, HashesShortStreams) {
  std::string data = pattern(1000);
  EXPECT_EQ(pipelined(data, 4096, {4096}), sha256Of(data));
  EXPECT_EQ(pipelined("", 4096, {4096}), sha256Of(""));
}

TEST(Sha256Pipeline, StopsWhenAbandoned) {
  // An unpack that fails half-way destroys the pipeline without finish(): the helper must
  // stop rather than hang or touch freed buffers.
  for (int round = 0; round < 50; ++round) {
    Sha256Pipeline p(1 << 16);
    for (size_t i = 0; i < Sha256Pipeline::kSlots; ++i) {
      std::memset(p.acquire(), 'x', p.blockSize());
      p.commit(p.blockSize());
    }
  }
}

}  // namespace
}  // namespace berth::image
