#pragma once
// Values of `berth kv` encrypted on request (`--encrypt --key-file F`). The CLI encrypts
// and decrypts; berthd and the Store only ever hold the sealed text.
//
// Sealed value (version 1), crypt-like so that a reader knows what it holds:
//   $berth-aes256gcm$1$<base64 of: nonce (12 bytes) | ciphertext | tag (16 bytes)>
// AES-256-GCM with a random nonce per value; the associated data is the user key the value
// is stored under, so a sealed value copied to another key does not open there.
//
// Key file: exactly 32 raw bytes, or 64 hex digits (optionally followed by a newline).
// Make one with `head -c 32 /dev/urandom > kv.key` or `openssl rand -hex 32 > kv.key`.

#include <array>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cli {

inline constexpr std::string_view kSealedPrefix = "$berth-aes256gcm$";

using SecretKey = std::array<unsigned char, 32>;

// The key in a key file's contents; kInvalidArgument saying which of the two forms was
// expected.
Result<SecretKey> parseSecretKey(std::string_view file_contents);
// Reads and parses a key file; errors name the file.
Result<SecretKey> readSecretKey(const std::string& path);

// True when `value` starts with the sealed prefix (whatever its version).
bool isSealed(std::string_view value);

// Encrypts `plain` for storage under `key_name`.
Result<std::string> seal(const SecretKey& key, std::string_view key_name, std::string_view plain);
// Decrypts a sealed value stored under `key_name`. A wrong key, another key name or any
// altered byte is kPermissionDenied ("wrong key, or the value was altered"); a value that is
// not sealed, of an unknown version or cut short is kInvalidArgument. Never returns garbage.
Result<std::string> unseal(const SecretKey& key, std::string_view key_name,
                           std::string_view sealed);

// What a reader of kv key `key_name` shows: `value` as it is when it is not sealed, else
// opened with `key`; without a key, kPermissionDenied "kv key 'K' is encrypted: give
// --key-file to decrypt it". Errors name the key.
Result<std::string> openValue(std::string_view key_name, std::string value, const SecretKey* key);

}  // namespace berth::cli
