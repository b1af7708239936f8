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
  int64_t rss_before = -1;  // server VmRSS in bytes, -1 without --server-pid
  int64_t rss_after = -1;
  uint64_t open_for_rss = 0;  // connections open when rss_after was read
  int64_t server_cpu_us = -1;
  std::string first_error;
};

void print_table(const Options& options, const RunResult& result);
void print_json(const Options& options, const RunResult& result);

}  // namespace parley::bench
