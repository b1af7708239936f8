#include "tools/bench/histogram.h"

#include <bit>
#include <cstddef>

namespace parley::bench {
namespace {

constexpr int kSubBits = 7;
constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
// Values below kSubCount get one bucket each, and every larger power of two gets kSubCount.
constexpr size_t kBucketCount = (64 - kSubBits + 1) * kSubCount;

size_t bucket_index(uint64_t value) {
  if (value < kSubCount) return value;
  int msb = 63 - std::countl_zero(value);
  int shift = msb - kSubBits;
  uint64_t sub = (value >> shift) & (kSubCount - 1);
  return static_cast<size_t>(shift + 1) * kSubCount + sub;
}

// Returns the middle of the bucket's value range.
uint64_t bucket_value(size_t index) {
  if (index < kSubCount) return index;
  int shift = static_cast<int>(index / kSubCount) - 1;
  uint64_t sub = index % kSubCount;
  uint64_t lower = (kSubCount + sub) << shift;
  return lower + ((uint64_t{1} << shift) >> 1);
}

}  // namespace

Histogram::Histogram() : buckets_(kBucketCount, 0) {}

void Histogram::record(uint64_t value) {
  ++buckets_[bucket_index(value)];
  ++count_;
  if (value > max_) max_ = value;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
}

uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  // The rank of the q-quantile, counted from 1, so that quantile(1.0) lands on the last value.
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      uint64_t value = bucket_value(i);
      return value < max_ ? value : max_;
    }
  }
  return max_;
}

}  // namespace parley::bench
