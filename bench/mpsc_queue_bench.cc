// Google Benchmark cases for net::MpscQueue: one consumer, the benchmark's thread, drains
// what one or two producer threads push, as a loop drains its inbox.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "net/mpsc_queue.h"

namespace {

constexpr uint64_t kItemsPerProducer = 1 << 16;

// Each iteration starts state.range(0) producers that push kItemsPerProducer values each, and
// pops until it has them all. Thread start-up is timed too, but is small next to 65,536
// pushes. With two producers and the consumer, three threads share the machine's cores.
void BM_mpsc_queue(benchmark::State& state) {
  const auto producer_count = static_cast<size_t>(state.range(0));
  const uint64_t total = kItemsPerProducer * producer_count;
  for (auto _ : state) {
    parley::net::MpscQueue<uint64_t> queue;
    std::vector<std::thread> producers;
    for (size_t p = 0; p < producer_count; ++p) {
      producers.emplace_back([&queue] {
        for (uint64_t i = 0; i < kItemsPerProducer; ++i) {
          queue.push(i);
        }
      });
    }
    uint64_t popped = 0;
    uint64_t sum = 0;
    while (popped < total) {
      if (auto value = queue.pop()) {
        sum += *value;
        ++popped;
      }
    }
    for (std::thread& producer : producers) {
      producer.join();
    }
    if (sum != producer_count * (kItemsPerProducer * (kItemsPerProducer - 1) / 2)) {
      state.SkipWithError("the consumer popped other values than were pushed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * total));
}
BENCHMARK(BM_mpsc_queue)
    ->ArgName("producers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
