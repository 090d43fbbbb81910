#pragma once
// Content digests ("sha256:<64 hex>") and streaming SHA-256 (OpenSSL EVP).

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::image {

class Digest {
 public:
  Digest() = default;
  // Accepts "sha256:<64 lowercase hex>" only: the one algorithm the store keeps.
  static Result<Digest> parse(std::string_view text);
  static Digest fromHex(std::string hex) { return Digest(std::move(hex)); }

  const std::string& hex() const { return hex_; }
  std::string str() const { return "sha256:" + hex_; }
  std::string shortId() const { return hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }
  bool operator==(const Digest& o) const { return hex_ == o.hex_; }
  bool operator<(const Digest& o) const { return hex_ < o.hex_; }

 private:
  explicit Digest(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  Digest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest sha256Of(std::string_view data);

}  // namespace berth::image
