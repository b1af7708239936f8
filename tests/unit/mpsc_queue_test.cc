// The MPSC queue under real concurrency: producers on their own threads, one consumer.

#include "net/mpsc_queue.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using parley::net::MpscQueue;

TEST_CASE("mpsc queue: single thread keeps FIFO order") {
  MpscQueue<int> queue;
  CHECK_FALSE(queue.pop().has_value());
  for (int i = 0; i < 100; ++i) {
    queue.push(i);
  }
  for (int i = 0; i < 100; ++i) {
    auto value = queue.pop();
    REQUIRE(value.has_value());
    CHECK(*value == i);
  }
  CHECK_FALSE(queue.pop().has_value());
  // The queue must work again after it drained through the stub.
  queue.push(7);
  CHECK(queue.pop() == 7);
}

TEST_CASE("mpsc queue: move-only values and leftovers freed by the destructor") {
  auto queue = std::make_unique<MpscQueue<std::unique_ptr<int>>>();
  queue->push(std::make_unique<int>(1));
  queue->push(std::make_unique<int>(2));
  auto first = queue->pop();
  REQUIRE(first.has_value());
  CHECK(**first == 1);
  queue.reset();  // the second value is still inside; ASan reports a leak if it is not freed
}

// Each value encodes (producer, sequence). The consumer checks that nothing is lost or
// duplicated and that each producer's values arrive in the order that producer pushed them.
TEST_CASE("mpsc queue: two producer threads, every value once and in per-producer order") {
  constexpr int kProducers = 2;
  constexpr uint32_t kPerProducer = 200000;
  MpscQueue<uint64_t> queue;
  std::atomic<bool> go{false};

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      while (!go.load(std::memory_order_acquire)) {
      }
      for (uint32_t i = 0; i < kPerProducer; ++i) {
        queue.push((uint64_t(p) << 32) | i);
      }
    });
  }
  go.store(true, std::memory_order_release);

  std::vector<uint32_t> next(kProducers, 0);
  uint64_t received = 0;
  bool in_order = true;
  while (received < uint64_t(kProducers) * kPerProducer) {
    auto value = queue.pop();
    if (!value) {
      std::this_thread::yield();
      continue;
    }
    auto producer = static_cast<int>(*value >> 32);
    auto sequence = static_cast<uint32_t>(*value & 0xffffffffu);
    REQUIRE(producer < kProducers);
    if (sequence != next[producer]) {
      in_order = false;
    }
    next[producer] = sequence + 1;
    ++received;
  }
  for (auto& thread : producers) {
    thread.join();
  }
  CHECK(in_order);
  for (int p = 0; p < kProducers; ++p) {
    CHECK(next[p] == kPerProducer);
  }
  CHECK_FALSE(queue.pop().has_value());
}

}  // namespace
