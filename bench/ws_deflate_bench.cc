// Google Benchmark cases for permessage-deflate: compressing and inflating chat messages of
// 128 bytes and 4 KiB, with and without context takeover.
//
// Each case cycles through 64 different messages, so that context takeover gains only what
// earlier messages share with the next one, as in a real conversation.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/sample_text.h"
#include "ws/permessage_deflate.h"

namespace {

using parley::ws::DeflateParams;
using parley::ws::Deflater;
using parley::ws::Inflater;
using parley::ws::InflateStatus;

constexpr size_t kMessageCount = 64;
constexpr size_t kInflateLimit = size_t{1} << 20;

// The same settings for both directions, so that the Deflater can produce what a client's
// compressor would send to the Inflater.
DeflateParams make_params(bool context_takeover) {
  DeflateParams params;
  params.server_no_context_takeover = !context_takeover;
  params.client_no_context_takeover = !context_takeover;
  return params;
}

std::vector<std::string> make_messages(size_t size) {
  std::vector<std::string> messages;
  for (size_t i = 0; i < kMessageCount; ++i) {
    messages.push_back(parley::bench::ascii_chat_text(size, static_cast<unsigned>(i + 1)));
  }
  return messages;
}

void deflate_arguments(benchmark::internal::Benchmark* bench) {
  bench->ArgNames({"size", "takeover"});
  for (int64_t size : {128, 4096}) {
    for (int64_t takeover : {0, 1}) {
      bench->Args({size, takeover});
    }
  }
}

void BM_deflate_compress(benchmark::State& state) {
  const std::vector<std::string> messages = make_messages(static_cast<size_t>(state.range(0)));
  Deflater deflater(make_params(state.range(1) != 0));
  size_t next = 0;
  size_t compressed_bytes = 0;
  for (auto _ : state) {
    std::string compressed = deflater.compress(messages[next]);
    compressed_bytes += compressed.size();
    next = (next + 1) % kMessageCount;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.counters["compressed_bytes"] =
      benchmark::Counter(static_cast<double>(compressed_bytes), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_deflate_compress)->Apply(deflate_arguments);

// Inflates messages that a Deflater with the same settings compressed in the same order.
// With context takeover a message may refer back into the ones before it. The cycle may still
// start over, because the first message was compressed with an empty window and so refers to
// nothing before itself.
void BM_deflate_inflate(benchmark::State& state) {
  const bool context_takeover = state.range(1) != 0;
  const std::vector<std::string> messages = make_messages(static_cast<size_t>(state.range(0)));
  std::vector<std::string> compressed;
  Deflater deflater(make_params(context_takeover));
  for (const std::string& message : messages) {
    compressed.push_back(deflater.compress(message));
  }

  Inflater inflater(make_params(context_takeover));
  std::vector<char> out;
  size_t next = 0;
  for (auto _ : state) {
    out.clear();
    InflateStatus status = inflater.feed(compressed[next], out, kInflateLimit);
    if (status == InflateStatus::kOk) {
      status = inflater.finish(out, kInflateLimit);
    }
    if (status != InflateStatus::kOk ||
        std::string_view(out.data(), out.size()) != messages[next]) {
      state.SkipWithError("the inflated message differs from the original");
      break;
    }
    next = (next + 1) % kMessageCount;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_deflate_inflate)->Apply(deflate_arguments);

}  // namespace
