#pragma once
// Token buckets keyed by a 64-bit value (a user id, or a hash of a peer address).
//
// Each key gets a bucket of `burst` tokens that refills at `per_second` tokens per second; an
// action costs one token and is rejected when the bucket is empty. A rate of 0 disables the
// limiter: every action is allowed and nothing is stored.
//
// Threads: any thread may call allow() and refund(). Keys are spread over shards, each with
// its own mutex, so loop threads and store workers rarely contend.

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace parley::im {

class RateLimiter {
 public:
  RateLimiter(double per_second, double burst);

  // Takes one token for `key` at time `now_ms`. Returns false, taking nothing, when the
  // bucket is empty.
  bool allow(uint64_t key, int64_t now_ms);
  // Returns true when `key` has at least one token, without taking it.
  bool has_token(uint64_t key, int64_t now_ms);
  // Takes one token even when the bucket is empty (it then goes negative, down to -burst),
  // for costs known only after the action, such as a failed login.
  void charge(uint64_t key, int64_t now_ms);

  bool enabled() const { return per_second_ > 0; }

 private:
  struct Bucket {
    double tokens;
    int64_t updated_ms;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<uint64_t, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;
  // A shard holding more keys than this drops the buckets that are full again, since a full
  // bucket is the same as no bucket. This bounds memory when many keys come and go.
  static constexpr size_t kPruneAbove = 4096;

  Bucket& refill(Shard& shard, uint64_t key, int64_t now_ms);
  void prune(Shard& shard, int64_t now_ms);

  double per_second_;
  double burst_;
  std::array<Shard, kShards> shards_;
};

// Hashes a peer address ("host:port" or "[v6]:port") without its port, so that all
// connections from one host share a bucket.
uint64_t address_key(std::string_view peer_address);

}  // namespace parley::im
