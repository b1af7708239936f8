#include "im/rate_limiter.h"

#include <xxhash.h>

#include <algorithm>
#include <string_view>

namespace parley::im {

RateLimiter::RateLimiter(double per_second, double burst)
    : per_second_(per_second), burst_(std::max(burst, 1.0)) {}

RateLimiter::Bucket& RateLimiter::refill(Shard& shard, uint64_t key, int64_t now_ms) {
  auto [it, inserted] = shard.buckets.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& bucket = it->second;
  if (!inserted && now_ms > bucket.updated_ms) {
    double earned = static_cast<double>(now_ms - bucket.updated_ms) * per_second_ / 1000.0;
    bucket.tokens = std::min(burst_, bucket.tokens + earned);
    bucket.updated_ms = now_ms;
  }
  return bucket;
}

void RateLimiter::prune(Shard& shard, int64_t now_ms) {
  if (shard.buckets.size() <= kPruneAbove) {
    return;
  }
  std::erase_if(shard.buckets, [&](const auto& entry) {
    const Bucket& bucket = entry.second;
    double earned = static_cast<double>(now_ms - bucket.updated_ms) * per_second_ / 1000.0;
    return bucket.tokens + earned >= burst_;
  });
}

bool RateLimiter::allow(uint64_t key, int64_t now_ms) {
  if (!enabled()) {
    return true;
  }
  Shard& shard = shards_[key % kShards];
  std::lock_guard lock(shard.mutex);
  prune(shard, now_ms);
  Bucket& bucket = refill(shard, key, now_ms);
  if (bucket.tokens < 1.0) {
    return false;
  }
  bucket.tokens -= 1.0;
  return true;
}

bool RateLimiter::has_token(uint64_t key, int64_t now_ms) {
  if (!enabled()) {
    return true;
  }
  Shard& shard = shards_[key % kShards];
  std::lock_guard lock(shard.mutex);
  return refill(shard, key, now_ms).tokens >= 1.0;
}

void RateLimiter::charge(uint64_t key, int64_t now_ms) {
  if (!enabled()) {
    return;
  }
  Shard& shard = shards_[key % kShards];
  std::lock_guard lock(shard.mutex);
  prune(shard, now_ms);
  Bucket& bucket = refill(shard, key, now_ms);
  bucket.tokens = std::max(-burst_, bucket.tokens - 1.0);
}

uint64_t address_key(std::string_view peer_address) {
  std::string_view host = peer_address;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(
        1, host.find(']') == std::string_view::npos ? host.size() - 1 : host.find(']') - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return XXH3_64bits(host.data(), host.size());
}

}  // namespace parley::im
