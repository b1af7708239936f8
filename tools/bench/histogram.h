#pragma once

#include <cstdint>
#include <vector>

namespace parley::bench {

// Latency histogram with logarithmic buckets: each power of two is split into 128 linear
// sub-buckets, so a reported value is within 1/128 (0.8%) of the recorded one. Values are
// nanoseconds. Not thread-safe: each worker thread keeps its own and they are merged at the end.
class Histogram {
 public:
  Histogram();

  void record(uint64_t value);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // Returns the value at quantile q in [0, 1], or 0 when nothing was recorded.
  uint64_t quantile(double q) const;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace parley::bench
