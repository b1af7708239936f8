// Google Benchmark cases for UTF-8 validation: is_valid_utf8 and the incremental
// Utf8Validator on ASCII, mixed-script and invalid text, next to a byte-at-a-time decoder.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/sample_text.h"
#include "ws/utf8.h"

namespace {

// Validates by decoding every code point one byte per step, with no ASCII shortcut, and then
// checking the RFC 3629 ranges: the figure the fast path is measured against.
bool is_valid_utf8_bytewise(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = bytes[i];
    size_t continuation_count = 0;
    uint32_t code_point = 0;
    uint32_t min_code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0) == 0xC0) {
      continuation_count = 1;
      code_point = lead & 0x1F;
      min_code_point = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      continuation_count = 2;
      code_point = lead & 0x0F;
      min_code_point = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      continuation_count = 3;
      code_point = lead & 0x07;
      min_code_point = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i - 1 < continuation_count) {
      return false;
    }
    for (size_t k = 1; k <= continuation_count; ++k) {
      const unsigned char next = bytes[i + k];
      if ((next & 0xC0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (next & 0x3F);
    }
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    if (code_point < min_code_point || code_point > 0x10FFFF || surrogate) {
      return false;
    }
    i += 1 + continuation_count;
  }
  return true;
}

enum class Sample : int64_t { kAscii, kMixed, kInvalid };

// ASCII chat text, mixed Latin/CJK/emoji text, or mixed text whose last byte is a stray
// continuation byte, so that a validator reads all of it before it fails.
std::string make_sample(Sample sample, size_t size) {
  switch (sample) {
    case Sample::kAscii:
      return parley::bench::ascii_chat_text(size);
    case Sample::kMixed:
      return parley::bench::mixed_utf8_text(size);
    case Sample::kInvalid:
      break;
  }
  std::string text = parley::bench::mixed_utf8_text(size - 1);
  text.push_back('\x80');
  return text;
}

void sample_arguments(benchmark::internal::Benchmark* bench) {
  bench->ArgNames({"sample", "size"});
  for (Sample sample : {Sample::kAscii, Sample::kMixed, Sample::kInvalid}) {
    for (int64_t size : {16, 125, 1460, 65536, 1 << 20}) {
      bench->Args({static_cast<int64_t>(sample), size});
    }
  }
}

template <bool (*Validate)(std::string_view)>
void BM_validate(benchmark::State& state) {
  const auto sample = static_cast<Sample>(state.range(0));
  const std::string text = make_sample(sample, static_cast<size_t>(state.range(1)));
  const bool expected = sample != Sample::kInvalid;
  if (Validate(text) != expected) {
    state.SkipWithError("the validator returned the wrong verdict");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(Validate(text));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_validate<parley::ws::is_valid_utf8>)
    ->Name("BM_utf8_validate")
    ->Apply(sample_arguments);
BENCHMARK(BM_validate<is_valid_utf8_bytewise>)
    ->Name("BM_utf8_validate_bytewise")
    ->Apply(sample_arguments);

// Feeds mixed text to one Utf8Validator in 1460-byte pieces, which split multi-byte sequences,
// as MessageReader does with a text message that arrives over several reads.
void BM_utf8_validator_pieces(benchmark::State& state) {
  const std::string text = parley::bench::mixed_utf8_text(static_cast<size_t>(state.range(0)));
  const std::string_view all(text);
  constexpr size_t kPiece = 1460;
  parley::ws::Utf8Validator validator;
  for (auto _ : state) {
    validator.reset();
    bool ok = true;
    for (size_t at = 0; at < all.size() && ok; at += kPiece) {
      ok = validator.feed(all.substr(at, kPiece));
    }
    if (!ok || !validator.at_boundary()) {
      state.SkipWithError("the validator rejected valid text");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_utf8_validator_pieces)->Arg(65536)->Arg(1 << 20);

}  // namespace
