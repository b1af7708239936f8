// Google Benchmark cases for the frame codec: parsing client frames through MessageReader,
// encoding server frames, and unmasking with apply_mask next to a byte-at-a-time loop.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "bench/sample_text.h"
#include "ws/frame.h"
#include "ws/message_reader.h"

namespace {

using parley::ws::Event;
using parley::ws::MessageReader;
using parley::ws::Opcode;

constexpr uint32_t kMaskKey = 0x37FA213D;

// Payload sizes around each length form: 7-bit (0-125), 16-bit (126-65535) and 64-bit.
constexpr int64_t kPayloadSizes[] = {0, 125, 126, 4096, 65535, 65536, 1 << 20};

void parse_arguments(benchmark::internal::Benchmark* bench) {
  for (int64_t size : kPayloadSizes) {
    // Piece 0 feeds the whole frame at once. Pieces of 64 and 1460 bytes (one TCP segment on
    // Ethernet) feed it as a slow sender's bytes arrive.
    for (int64_t piece : {0, 64, 1460}) {
      bench->Args({size, piece});
    }
  }
}

void encode_arguments(benchmark::internal::Benchmark* bench) {
  for (int64_t size : kPayloadSizes) {
    bench->Arg(size);
  }
}

// Parses one masked text frame of state.range(0) payload bytes, fed in pieces of
// state.range(1) bytes (0 for all at once), the way the server's read path calls the reader.
// The frame uses the all-zero masking key: unmasking then leaves the bytes as they were, so
// one buffer serves every iteration, and apply_mask does the same work for any key.
void BM_frame_parse(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const auto piece = static_cast<size_t>(state.range(1));
  std::string frame =
      parley::ws::encode_masked_frame(Opcode::kText, parley::bench::ascii_chat_text(size), 0);
  MessageReader reader(parley::ws::ReaderLimits{.max_message_bytes = size_t{2} << 20});
  Event event;

  for (auto _ : state) {
    size_t consumed = 0;
    size_t received = 0;
    do {
      received = piece == 0 ? frame.size() : std::min(received + piece, frame.size());
      consumed += reader.next(frame.data() + consumed, received - consumed, event);
    } while (event.type == Event::Type::kNeedMore && received < frame.size());
    if (event.type != Event::Type::kText || consumed != frame.size()) {
      state.SkipWithError("the reader did not return the text message");
      break;
    }
    benchmark::DoNotOptimize(event.payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_frame_parse)->Apply(parse_arguments);

// Encodes one unmasked text frame, as the server sends, including its allocation.
void BM_frame_encode(benchmark::State& state) {
  const std::string payload = parley::bench::ascii_chat_text(static_cast<size_t>(state.range(0)));
  size_t frame_size = 0;
  for (auto _ : state) {
    std::string frame = parley::ws::encode_frame(Opcode::kText, payload);
    frame_size = frame.size();
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame_size));
}
BENCHMARK(BM_frame_encode)->Apply(encode_arguments);

// The plain reading of RFC 6455 §5.3, one byte per step: the figure apply_mask is measured
// against. The attribute stops GCC from vectorising the loop, so it stays one byte per step.
__attribute__((optimize("no-tree-vectorize"))) void apply_mask_bytewise(char* data, size_t len,
                                                                        uint32_t key_in_wire_order,
                                                                        size_t offset) {
  uint8_t key[4];
  std::memcpy(key, &key_in_wire_order, 4);
  for (size_t i = 0; i < len; ++i) {
    data[i] = static_cast<char>(data[i] ^ key[(offset + i) % 4]);
  }
}

// Sizes at offset 0, then offsets 1-7 at 4 KiB. The offset both misaligns the data pointer
// and starts the key at a different byte, as when a payload is unmasked in pieces.
void mask_arguments(benchmark::internal::Benchmark* bench) {
  for (int64_t size : {16, 125, 1460, 4096, 65536, 1 << 20}) {
    bench->Args({size, 0});
  }
  for (int64_t offset = 1; offset < 8; ++offset) {
    bench->Args({4096, offset});
  }
}

template <void (*Mask)(char*, size_t, uint32_t, size_t)>
void BM_mask(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const auto offset = static_cast<size_t>(state.range(1));
  // new[] returns memory aligned for any fundamental type (16 bytes with glibc on x86-64), so data
  // starts exactly `offset` bytes past an aligned address.
  auto buffer = std::make_unique<char[]>(size + 8);
  std::memset(buffer.get(), 'x', size + 8);
  char* data = buffer.get() + offset;
  for (auto _ : state) {
    Mask(data, size, kMaskKey, offset);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_mask<parley::ws::apply_mask>)->Name("BM_apply_mask")->Apply(mask_arguments);
BENCHMARK(BM_mask<apply_mask_bytewise>)->Name("BM_apply_mask_bytewise")->Apply(mask_arguments);

}  // namespace
