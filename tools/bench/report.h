#pragma once

#include <cstdint>
#include <string>

#include "tools/bench/histogram.h"
#include "tools/bench/load_worker.h"
#include "tools/bench/options.h"

namespace parley::bench {

struct RunResult {
  double seconds = 0;     // length of the measured window
  CounterSnapshot delta;  // counts inside the window
  CounterSnapshot total;  // counts over the whole run, for failures
  Histogram reply_latency;
  Histogram delivery_latency;
  Histogram handshake_latency;
  // Memory before the first connection opened and once all were open (idle scenario), in
  // bytes; -1 where unknown. The server's figures need --server-pid.
  struct Memory {
    int64_t rss = -1;         // server VmRSS: everything resident, shared library code too
    int64_t anon = -1;        // server RssAnon: heap and stacks, the per-connection state
    int64_t slab = -1;        // the host's kernel slab memory (socket structures)
    int64_t tcp_buffer = -1;  // the host's TCP socket buffers
  };
  Memory memory_before;
  Memory memory_after;
  uint64_t open_for_rss = 0;  // connections open when memory_after was read
  int64_t server_cpu_us = -1;
  std::string first_error;
};

void print_table(const Options& options, const RunResult& result);
void print_json(const Options& options, const RunResult& result);

}  // namespace parley::bench
