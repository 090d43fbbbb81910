#pragma once
// Docker's multiplexed stream framing, as attach, exec and logs send it when the container
// has no terminal: each frame is an 8-byte header [STREAM, 0, 0, 0, SIZE (big-endian
// u32)] and SIZE bytes of payload. STREAM is 0 (stdin, shown as stdout), 1 stdout,
// 2 stderr or 3 (an error from the daemon, shown on stderr).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cli {

enum class StreamId : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemErr = 3 };

// Splits a byte stream into frames. Payloads are handed on as soon as their bytes arrive,
// so a frame split across reads comes out in pieces (never merged with the next frame).
// Not thread-safe.
class FrameDecoder {
 public:
  using Sink = std::function<void(StreamId stream, std::string_view payload)>;

  // Feeds the next bytes of the stream. kInvalidArgument on a header whose stream byte is
  // not 0–3 (the stream is not framed); nothing after it is decoded.
  Status feed(std::string_view data, const Sink& sink);
  // True when the stream ended cleanly, on a frame boundary.
  bool atBoundary() const { return header_len_ == 0 && remaining_ == 0; }

 private:
  char header_[8] = {};
  size_t header_len_ = 0;
  uint32_t remaining_ = 0;
  StreamId stream_ = StreamId::kStdout;
  bool broken_ = false;
};

// One frame, as the daemon would send it (for tests and fakes).
std::string encodeFrame(StreamId stream, std::string_view payload);

}  // namespace berth::cli
