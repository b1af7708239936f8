// Google Benchmark case for the opening handshake: the Sec-WebSocket-Accept value, one
// SHA-1 and one base64 encoding per upgrade request.

#include <benchmark/benchmark.h>

#include <string>

#include "ws/handshake.h"

namespace {

void BM_accept_key(benchmark::State& state) {
  // The sample key of RFC 6455 §1.3.
  const std::string client_key = "dGhlIHNhbXBsZSBub25jZQ==";
  if (parley::ws::compute_accept_key(client_key) != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
    state.SkipWithError("compute_accept_key returned the wrong value");
    return;
  }
  for (auto _ : state) {
    std::string accept = parley::ws::compute_accept_key(client_key);
    benchmark::DoNotOptimize(accept.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_accept_key);

}  // namespace
