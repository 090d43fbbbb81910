#include "cli/berth/kv_crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/base64.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr std::string_view kVersion = "1$";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx newCtx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<SecretKey> parseSecretKey(std::string_view text) {
  SecretKey key{};
  if (text.size() == key.size()) {
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  std::string_view hex = text;
  if (hex.ends_with("\r\n"))
    hex.remove_suffix(2);
  else if (hex.ends_with('\n'))
    hex.remove_suffix(1);
  if (hex.size() == 2 * key.size()) {
    for (size_t i = 0; i < key.size(); ++i) {
      int hi = hexDigit(hex[2 * i]), lo = hexDigit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return invalidArgument("key: character " + std::to_string(2 * i + (hi < 0 ? 0 : 1)) +
                               " is not a hex digit");
      key[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return key;
  }
  return invalidArgument("key: " + std::to_string(text.size()) +
                         " bytes; expected 32 raw bytes or 64 hex digits (make one with "
                         "'openssl rand -hex 32')");
}

Result<SecretKey> readSecretKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errnoError("read key file " + quote(path), errno);
  std::ostringstream text;
  text << in.rdbuf();
  auto key = parseSecretKey(text.str());
  if (!key) return key.error().context("key file " + quote(path));
  return key;
}

bool isSealed(std::string_view value) { return value.starts_with(kSealedPrefix); }

Result<std::string> seal(const SecretKey& key, std::string_view key_name, std::string_view plain) {
  std::string raw(kNonceBytes + plain.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (RAND_bytes(out, kNonceBytes) != 1) return internalError("encrypt: no random nonce");
  auto ctx = newCtx();
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), out) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(key_name),
                        static_cast<int>(key_name.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out + kNonceBytes, &len, bytes(plain),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out + kNonceBytes + plain.size()) != 1)
    return internalError("encrypt: AES-256-GCM failed");
  return std::string(kSealedPrefix) + std::string(kVersion) + base64Encode(raw);
}

Result<std::string> unseal(const SecretKey& key, std::string_view key_name,
                           std::string_view sealed) {
  if (!isSealed(sealed)) return invalidArgument("decrypt: the value is not encrypted");
  sealed.remove_prefix(kSealedPrefix.size());
  if (!sealed.starts_with(kVersion)) {
    std::string version(sealed.substr(0, sealed.find('$')));
    return invalidArgument("decrypt: unknown format version " + quote(version) +
                           " (this berth reads version 1)");
  }
  auto raw = base64Decode(sealed.substr(kVersion.size()));
  if (!raw) return raw.error().context("decrypt: the value is corrupt");
  if (raw->size() < kNonceBytes + kTagBytes)
    return invalidArgument("decrypt: the value is corrupt: " + std::to_string(raw->size()) +
                           " bytes, shorter than a nonce and a tag");
  size_t text_size = raw->size() - kNonceBytes - kTagBytes;
  auto* in = reinterpret_cast<unsigned char*>(raw->data());
  std::string plain(text_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  auto ctx = newCtx();
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), in) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(key_name),
                        static_cast<int>(key_name.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, in + kNonceBytes, static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          in + kNonceBytes + text_size) != 1)
    return internalError("decrypt: AES-256-GCM failed");
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Error(ErrorCode::kPermissionDenied,
                 "decrypt: wrong key, or the value was altered (authentication failed)");
  }
  return plain;
}

Result<std::string> openValue(std::string_view key_name, std::string value, const SecretKey* key) {
  if (!isSealed(value)) return value;
  if (!key)
    return Error(ErrorCode::kPermissionDenied,
                 "kv key " + quote(key_name) + " is encrypted: give --key-file to decrypt it");
  auto plain = unseal(*key, key_name, value);
  if (!plain) return plain.error().context("kv key " + quote(key_name));
  return plain;
}

}  // namespace berth::cli
