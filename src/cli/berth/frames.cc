#include "cli/berth/frames.h"

#include <algorithm>

namespace berth::cli {

Status FrameDecoder::feed(std::string_view data, const Sink& sink) {
  if (broken_) return invalidArgument("read stream: malformed frame header");
  while (!data.empty()) {
    if (remaining_ == 0) {
      size_t take = std::min(data.size(), sizeof(header_) - header_len_);
      std::copy_n(data.data(), take, header_ + header_len_);
      header_len_ += take;
      data.remove_prefix(take);
      if (header_len_ < sizeof(header_)) return okStatus();
      header_len_ = 0;
      auto type = static_cast<uint8_t>(header_[0]);
      if (type > 3) {
        broken_ = true;
        return invalidArgument("read stream: malformed frame header (stream " +
                               std::to_string(type) + ")");
      }
      stream_ = static_cast<StreamId>(type);
      remaining_ = (uint32_t{static_cast<uint8_t>(header_[4])} << 24) |
                   (uint32_t{static_cast<uint8_t>(header_[5])} << 16) |
                   (uint32_t{static_cast<uint8_t>(header_[6])} << 8) |
                   uint32_t{static_cast<uint8_t>(header_[7])};
      continue;
    }
    size_t take = std::min<size_t>(data.size(), remaining_);
    sink(stream_, data.substr(0, take));
    remaining_ -= static_cast<uint32_t>(take);
    data.remove_prefix(take);
  }
  return okStatus();
}

std::string encodeFrame(StreamId stream, std::string_view payload) {
  auto n = static_cast<uint32_t>(payload.size());
  std::string out = {static_cast<char>(stream),
                     0,
                     0,
                     0,
                     static_cast<char>(n >> 24),
                     static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8),
                     static_cast<char>(n)};
  out.append(payload);
  return out;
}

}  // namespace berth::cli
