#include "image/digest.h"

#include <openssl/evp.h>

#include "common/strings.h"

namespace berth::image {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Result<Digest> Digest::parse(std::string_view text) {
  if (!startsWith(text, "sha256:"))
    return invalidArgument("digest " + quote(text) + ": only sha256 digests are supported");
  std::string_view hex = text.substr(7);
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return invalidArgument("digest " + quote(text) + ": expected 64 lowercase hex digits");
  return Digest(std::string(hex));
}

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(ctx_->md, data, size); }

Digest Sha256::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  return Digest::fromHex(std::move(hex));
}

Digest sha256Of(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

}  // namespace berth::image
