#pragma once
// Process-wide counters for GET /metrics. Relaxed atomics: any thread may bump them, and a
// scrape only needs each value, not a consistent snapshot across them.

#include <atomic>
#include <cstdint>
#include <string>

namespace parley::im {

struct Metrics {
  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_total{0};
  std::atomic<int64_t> websocket_sessions{0};
  std::atomic<int64_t> http_requests{0};
  std::atomic<int64_t> messages_stored{0};
  std::atomic<int64_t> messages_delivered{0};
  std::atomic<int64_t> store_errors{0};
  std::atomic<int64_t> messages_rate_limited{0};
  std::atomic<int64_t> logins_rate_limited{0};

  // Prometheus text exposition format.
  std::string render() const;
};

}  // namespace parley::im
