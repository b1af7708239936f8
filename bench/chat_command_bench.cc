// Google Benchmark cases for decode_chat_command, the pure JSON decoder of the chat
// WebSocket's commands: a direct text message, a group message and a sync request.

#include <benchmark/benchmark.h>

#include <string>
#include <variant>

#include "bench/sample_text.h"
#include "im/chat_command.h"

namespace {

using parley::im::ChatCommand;

constexpr int64_t kUser = 1;

template <typename Expected>
void decode_commands(benchmark::State& state, const std::string& text) {
  if (!std::holds_alternative<Expected>(parley::im::decode_chat_command(text, kUser))) {
    state.SkipWithError("the sample did not decode to the expected command");
    return;
  }
  for (auto _ : state) {
    ChatCommand command = parley::im::decode_chat_command(text, kUser);
    benchmark::DoNotOptimize(&command);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// A direct message whose content is state.range(0) bytes of chat text.
void BM_chat_decode_direct(benchmark::State& state) {
  const std::string content = parley::bench::ascii_chat_text(static_cast<size_t>(state.range(0)));
  const std::string text =
      R"({"cmd":10,"cid":"c-1700000000123-7","dstid":42,"content":")" + content + R"("})";
  decode_commands<parley::im::SendCommand>(state, text);
}
BENCHMARK(BM_chat_decode_direct)->Arg(16)->Arg(128)->Arg(4096);

void BM_chat_decode_group_media(benchmark::State& state) {
  const std::string text =
      R"({"cmd":11,"cid":"c-1700000000123-8","dstid":7,"media":2,"url":"/media/3f2a9c.png",)"
      R"("pic":"/media/3f2a9c_thumb.png","memo":"holiday photo"})";
  decode_commands<parley::im::SendCommand>(state, text);
}
BENCHMARK(BM_chat_decode_group_media);

void BM_chat_decode_sync(benchmark::State& state) {
  decode_commands<parley::im::SyncCommand>(state, R"({"cmd":30,"conv":"g:4","after":1234})");
}
BENCHMARK(BM_chat_decode_sync);

}  // namespace
