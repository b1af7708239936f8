#include "net/descriptor_limit.h"

#include <sys/resource.h>

#include <atomic>
#include <limits>

namespace parley::net {

namespace {
std::atomic<uint64_t> g_capacity{std::numeric_limits<uint64_t>::max()};
std::atomic<uint64_t> g_open{0};
}  // namespace

uint64_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

void set_connection_capacity(uint64_t connections) {
  g_capacity.store(connections, std::memory_order_relaxed);
}

uint64_t connection_capacity() {
  return g_capacity.load(std::memory_order_relaxed);
}

bool acquire_connection_slot() {
  const uint64_t capacity = g_capacity.load(std::memory_order_relaxed);
  uint64_t open = g_open.load(std::memory_order_relaxed);
  do {
    if (open >= capacity) {
      return false;
    }
  } while (!g_open.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

void release_connection_slot() {
  g_open.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace parley::net
