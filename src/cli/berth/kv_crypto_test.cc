#include "cli/berth/kv_crypto.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace berth::cli {
namespace {

SecretKey keyOf(char fill) {
  SecretKey k;
  k.fill(static_cast<unsigned char>(fill));
  return k;
}

// Flips one bit of the decoded payload at `index` (negative: from the end) and re-seals.
std::string alter(const std::string& sealed, int index) {
  size_t head = sealed.rfind('$') + 1;
  std::string raw = *base64Decode(sealed.substr(head));
  raw[index < 0 ? raw.size() + index : static_cast<size_t>(index)] ^= 0x01;
  return sealed.substr(0, head) + base64Encode(raw);
}

TEST(KvCrypto, RoundTripsBytesOfEverySize) {
  SecretKey key = keyOf('k');
  for (std::string plain : {std::string(), std::string("postgres://db:5432/app"),
                            std::string("\0\xff\n binary", 10), std::string(100000, 'x')}) {
    auto sealed = seal(key, "app/db/url", plain);
    ASSERT_TRUE(sealed) << sealed.error().message();
    EXPECT_TRUE(sealed->starts_with("$berth-aes256gcm$1$"));
    EXPECT_TRUE(isSealed(*sealed));
    EXPECT_EQ(sealed->find(plain.empty() ? "\x01" : plain), std::string::npos);
    auto opened = unseal(key, "app/db/url", *sealed);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(KvCrypto, EachSealUsesAFreshNonce) {
  SecretKey key = keyOf('k');
  EXPECT_NE(*seal(key, "a", "same"), *seal(key, "a", "same"));
}

TEST(KvCrypto, WrongKeyIsAnErrorNotGarbage) {
  auto sealed = *seal(keyOf('k'), "a", "secret");
  auto opened = unseal(keyOf('j'), "a", sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(opened.error().message().find("wrong key"), std::string::npos);
}

TEST(KvCrypto, OpenValuePassesPlainValuesAndNeedsAKeyForSealedOnes) {
  SecretKey key = keyOf('k');
  EXPECT_EQ(openValue("a", "plain", nullptr).value(), "plain");
  EXPECT_EQ(openValue("a", "plain", &key).value(), "plain");
  auto sealed = *seal(key, "a", "secret");
  EXPECT_EQ(openValue("a", sealed, &key).value(), "secret");
  auto no_key = openValue("a", sealed, nullptr);
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(no_key.error().message(), "kv key 'a' is encrypted: give --key-file to decrypt it");
  SecretKey wrong = keyOf('j');
  auto bad = openValue("a", sealed, &wrong);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("kv key 'a': ")) << bad.error().message();
}

TEST(KvCrypto, ValueMovedToAnotherKeyDoesNotOpen) {
  auto sealed = *seal(keyOf('k'), "a", "secret");
  EXPECT_FALSE(unseal(keyOf('k'), "b", sealed));
}

TEST(KvCrypto, TamperedTagNonceOrCiphertextIsRefused) {
  auto sealed = *seal(keyOf('k'), "a", "secret value");
  for (int index : {-1, -16, 0, 11, 12, 15}) {
    auto opened = unseal(keyOf('k'), "a", alter(sealed, index));
    ASSERT_FALSE(opened) << "byte " << index;
    EXPECT_EQ(opened.error().code(), ErrorCode::kPermissionDenied);
  }
}

TEST(KvCrypto, TruncatedOrMalformedValuesAreClearErrors) {
  auto sealed = *seal(keyOf('k'), "a", "secret value");
  // Cut the last base64 digit (the padding alone carries no data), cut a whole
  // quantum, and cut below nonce + tag.
  for (size_t keep : {sealed.find_last_not_of('='), sealed.size() - 4, size_t{19 + 24}}) {
    auto opened = unseal(keyOf('k'), "a", sealed.substr(0, keep));
    ASSERT_FALSE(opened) << keep;
    EXPECT_NE(opened.error().message().find("decrypt"), std::string::npos);
  }
  auto short_one = unseal(keyOf('k'), "a", "$berth-aes256gcm$1$" + base64Encode("tiny"));
  ASSERT_FALSE(short_one);
  EXPECT_NE(short_one.error().message().find("shorter than a nonce and a tag"), std::string::npos);
  auto other_version = unseal(keyOf('k'), "a", "$berth-aes256gcm$2$AAAA");
  ASSERT_FALSE(other_version);
  EXPECT_NE(other_version.error().message().find("version '2'"), std::string::npos);
  auto not_base64 = unseal(keyOf('k'), "a", "$berth-aes256gcm$1$!!!!");
  ASSERT_FALSE(not_base64);
  EXPECT_NE(not_base64.error().message().find("corrupt"), std::string::npos);
  EXPECT_FALSE(unseal(keyOf('k'), "a", "plain text"));
}

TEST(KvCrypto, KeyFilesAreRawBytesOrHex) {
  std::string raw(32, '\x07');
  ASSERT_TRUE(parseSecretKey(raw));
  EXPECT_EQ((*parseSecretKey(raw))[31], 7);
  std::string hex(64, 'a');
  hex[63] = 'F';
  auto from_hex = parseSecretKey(hex + "\n");
  ASSERT_TRUE(from_hex);
  EXPECT_EQ((*from_hex)[0], 0xaa);
  EXPECT_EQ((*from_hex)[31], 0xaf);
  auto bad_digit = parseSecretKey(std::string(63, 'a') + "g");
  ASSERT_FALSE(bad_digit);
  EXPECT_NE(bad_digit.error().message().find("character 63"), std::string::npos);
  auto short_key = parseSecretKey("too short");
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message().find("32 raw bytes or 64 hex digits"), std::string::npos);
  EXPECT_FALSE(readSecretKey("/nonexistent/kv.key"));
}

}  // namespace
}  // namespace berth::cli
