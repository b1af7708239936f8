#include "im/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace parley::im {

namespace {
constexpr uint64_t kScryptN = 1u << 14;
constexpr uint64_t kScryptR = 8;
constexpr uint64_t kScryptP = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// N=2^14, r=8 needs 128*N*r = 16 MiB; allow a little more than that.
constexpr uint64_t kScryptMaxMem = 64u << 20;

std::string to_hex(const unsigned char* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xF];
  }
  return out;
}

bool from_hex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) {
    return false;
  }
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || ptr != hex.data() + 2 * i + 2) {
      return false;
    }
    out[i] = static_cast<unsigned char>(value);
  }
  return true;
}

bool scrypt(std::string_view password, const unsigned char* salt, size_t salt_len, uint64_t n,
            uint64_t r, uint64_t p, unsigned char* out, size_t out_len) {
  return EVP_PBE_scrypt(password.data(), password.size(), salt, salt_len, n, r, p, kScryptMaxMem,
                        out, out_len) == 1;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = text.find(separator, start);
    parts.push_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos) {
      return parts;
    }
    start = pos + 1;
  }
}

bool parse_u64(std::string_view text, uint64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}
}  // namespace

std::string hash_password(std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  unsigned char hash[kHashBytes];
  if (!scrypt(password, salt, sizeof salt, kScryptN, kScryptR, kScryptP, hash, sizeof hash)) {
    throw std::runtime_error("EVP_PBE_scrypt failed");
  }
  return "scrypt$" + std::to_string(kScryptN) + "$" + std::to_string(kScryptR) + "$" +
         std::to_string(kScryptP) + "$" + to_hex(salt, sizeof salt) + "$" +
         to_hex(hash, sizeof hash);
}

bool verify_password(std::string_view password, std::string_view stored) {
  auto parts = split(stored, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") {
    return false;
  }
  uint64_t n = 0, r = 0, p = 0;
  std::vector<unsigned char> salt, expected;
  if (!parse_u64(parts[1], n) || !parse_u64(parts[2], r) || !parse_u64(parts[3], p) ||
      !from_hex(parts[4], salt) || !from_hex(parts[5], expected) || expected.empty()) {
    return false;
  }
  std::vector<unsigned char> actual(expected.size());
  if (!scrypt(password, salt.data(), salt.size(), n, r, p, actual.data(), actual.size())) {
    return false;
  }
  return CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) == 0;
}

std::string new_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return to_hex(bytes, sizeof bytes);
}

std::string token_hash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return to_hex(digest, sizeof digest);
}

}  // namespace parley::im
