#pragma once
// Password hashing and session tokens. Pure functions; the KDF is deliberately slow (tens of
// milliseconds), so callers run it on store workers, never on an event loop.

#include <string>
#include <string_view>

namespace parley::im {

// Hashes with scrypt (N=2^14, r=8, p=1, 16-byte random salt) and returns
// "scrypt$N$r$p$SALT_HEX$HASH_HEX", so the parameters can be raised later without breaking
// stored hashes.
std::string hash_password(std::string_view password);
// Recomputes the hash with the stored parameters and compares in constant time. Returns false
// for a malformed stored value.
bool verify_password(std::string_view password, std::string_view stored);

// 256 random bits from the OpenSSL CSPRNG, hex-encoded (64 characters).
std::string new_token();
// SHA-256 of the token, hex-encoded: what the store keeps, so a leaked database holds no
// usable token.
std::string token_hash(std::string_view token);

}  // namespace parley::im
