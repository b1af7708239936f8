#include "tools/bench/report.h"

#include <cstdio>

namespace parley::bench {
namespace {

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

// Server CPU microseconds per event, or -1 when unknown.
double cpu_per(const RunResult& result, uint64_t events) {
  if (result.server_cpu_us < 0 || events == 0)
    return -1;
  return static_cast<double>(result.server_cpu_us) / static_cast<double>(events);
}

// Growth of one memory figure per open connection, or -1 when it is unknown.
double per_connection(const RunResult& result, int64_t RunResult::Memory::*figure) {
  const int64_t before = result.memory_before.*figure;
  const int64_t after = result.memory_after.*figure;
  if (before < 0 || after < 0 || result.open_for_rss == 0)
    return -1;
  return static_cast<double>(after - before) / static_cast<double>(result.open_for_rss);
}

void print_latency_row(const char* name, const Histogram& histogram) {
  if (histogram.count() == 0)
    return;
  std::printf("  %-20s p50 %9.1f  p99 %9.1f  p99.9 %9.1f  max %9.1f us  (%llu samples)\n", name,
              histogram.quantile(0.5) / 1e3, histogram.quantile(0.99) / 1e3,
              histogram.quantile(0.999) / 1e3, histogram.max() / 1e3,
              static_cast<unsigned long long>(histogram.count()));
}

void print_latency_json(const char* name, const Histogram& histogram) {
  std::printf(
      ",\"%s\":{\"count\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
      "\"max_us\":%.1f}",
      name, static_cast<unsigned long long>(histogram.count()), histogram.quantile(0.5) / 1e3,
      histogram.quantile(0.99) / 1e3, histogram.quantile(0.999) / 1e3, histogram.max() / 1e3);
}

}  // namespace

void print_table(const Options& options, const RunResult& result) {
  const CounterSnapshot& d = result.delta;
  std::printf("parley-bench %s  %s:%d%s  ", options.scenario.c_str(), options.host.c_str(),
              options.port, options.path.c_str());
  // group opens one connection per member and ignores --connections.
  if (options.scenario == "group") {
    std::printf("members %d  senders %d", options.members, options.senders);
  } else {
    std::printf("connections %d", options.connections);
  }
  std::printf("  threads %d  size %d  %s %g\n", options.threads, options.size,
              options.rate > 0 ? "rate" : "pipeline",
              options.rate > 0 ? options.rate : static_cast<double>(options.pipeline));
  std::printf("  %-20s %.2f s\n", "measured", result.seconds);
  std::printf("  %-20s %12.0f /s  (%llu)\n", "sent", per_second(d.sent, result.seconds),
              static_cast<unsigned long long>(d.sent));
  const char* reply_name =
      options.scenario == "chat" || options.scenario == "group" ? "acks" : "echoes";
  std::printf("  %-20s %12.0f /s  (%llu)\n", reply_name, per_second(d.replies, result.seconds),
              static_cast<unsigned long long>(d.replies));
  if (d.deliveries > 0) {
    std::printf("  %-20s %12.0f /s  (%llu)\n", "deliveries",
                per_second(d.deliveries, result.seconds),
                static_cast<unsigned long long>(d.deliveries));
  }
  if (d.handshakes > 0) {
    std::printf("  %-20s %12.0f /s  (%llu)\n", "handshakes",
                per_second(d.handshakes, result.seconds),
                static_cast<unsigned long long>(d.handshakes));
  }
  print_latency_row(
      options.scenario == "chat" || options.scenario == "group" ? "ack latency" : "round trip",
      result.reply_latency);
  print_latency_row("delivery latency", result.delivery_latency);
  print_latency_row("handshake latency", result.handshake_latency);
  if (result.server_cpu_us >= 0) {
    std::printf("  %-20s %.3f s", "server cpu", result.server_cpu_us / 1e6);
    if (d.replies > 0) {
      std::printf("  %.2f us per %s", cpu_per(result, d.replies),
                  d.deliveries > 0 || options.scenario == "group" ? "ack" : "echo");
    }
    if (d.deliveries > 0)
      std::printf("  %.2f us per delivery", cpu_per(result, d.deliveries));
    if (d.handshakes > 0)
      std::printf("  %.2f us per handshake", cpu_per(result, d.handshakes));
    std::printf("\n");
  }
  if (result.memory_after.rss >= 0) {
    const RunResult::Memory& before = result.memory_before;
    const RunResult::Memory& after = result.memory_after;
    std::printf("  %-20s %.1f MiB -> %.1f MiB with %llu open: %.0f bytes per connection\n",
                "server VmRSS", before.rss / 1048576.0, after.rss / 1048576.0,
                static_cast<unsigned long long>(result.open_for_rss),
                per_connection(result, &RunResult::Memory::rss));
    std::printf("  %-20s %.1f MiB -> %.1f MiB: %.0f bytes per connection (heap and stacks)\n",
                "server RssAnon", before.anon / 1048576.0, after.anon / 1048576.0,
                per_connection(result, &RunResult::Memory::anon));
    std::printf(
        "  %-20s slab %.0f, TCP buffers %.0f bytes per connection (host-wide: both "
        "ends of each connection when they share this host)\n",
        "kernel", per_connection(result, &RunResult::Memory::slab),
        per_connection(result, &RunResult::Memory::tcp_buffer));
  }
  const CounterSnapshot& t = result.total;
  std::printf(
      "  %-20s refused %llu  rejected %llu  dropped %llu  error frames %llu\n", "failures",
      static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.rejected),
      static_cast<unsigned long long>(t.dropped), static_cast<unsigned long long>(t.server_errors));
}

void print_json(const Options& options, const RunResult& result) {
  const CounterSnapshot& d = result.delta;
  const CounterSnapshot& t = result.total;
  std::printf(
      "{\"scenario\":\"%s\",\"host\":\"%s\",\"port\":%d,\"connections\":%d,"
      "\"threads\":%d,\"size\":%d,\"pipeline\":%d,\"rate\":%g,\"members\":%d,"
      "\"senders\":%d,\"seconds\":%.3f",
      options.scenario.c_str(), options.host.c_str(), options.port, options.connections,
      options.threads, options.size, options.pipeline, options.rate, options.members,
      options.senders, result.seconds);
  std::printf(",\"sent\":%llu,\"replies\":%llu,\"deliveries\":%llu,\"handshakes\":%llu",
              static_cast<unsigned long long>(d.sent), static_cast<unsigned long long>(d.replies),
              static_cast<unsigned long long>(d.deliveries),
              static_cast<unsigned long long>(d.handshakes));
  std::printf(
      ",\"sent_per_s\":%.1f,\"replies_per_s\":%.1f,\"deliveries_per_s\":%.1f,"
      "\"handshakes_per_s\":%.1f",
      per_second(d.sent, result.seconds), per_second(d.replies, result.seconds),
      per_second(d.deliveries, result.seconds), per_second(d.handshakes, result.seconds));
  print_latency_json("reply_latency", result.reply_latency);
  print_latency_json("delivery_latency", result.delivery_latency);
  print_latency_json("handshake_latency", result.handshake_latency);
  std::printf(
      ",\"server_cpu_us\":%lld,\"server_cpu_us_per_reply\":%.3f,"
      "\"server_cpu_us_per_delivery\":%.3f",
      static_cast<long long>(result.server_cpu_us), cpu_per(result, d.replies),
      cpu_per(result, d.deliveries));
  std::printf(
      ",\"server_rss_before\":%lld,\"server_rss_after\":%lld,\"open_connections\":%llu,"
      "\"bytes_per_connection\":%.1f,\"anon_bytes_per_connection\":%.1f,"
      "\"kernel_slab_bytes_per_connection\":%.1f,\"tcp_buffer_bytes_per_connection\":%.1f",
      static_cast<long long>(result.memory_before.rss),
      static_cast<long long>(result.memory_after.rss),
      static_cast<unsigned long long>(result.open_for_rss),
      per_connection(result, &RunResult::Memory::rss),
      per_connection(result, &RunResult::Memory::anon),
      per_connection(result, &RunResult::Memory::slab),
      per_connection(result, &RunResult::Memory::tcp_buffer));
  std::printf(
      ",\"refused\":%llu,\"rejected\":%llu,\"dropped\":%llu,\"error_frames\":%llu}\n",
      static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.rejected),
      static_cast<unsigned long long>(t.dropped), static_cast<unsigned long long>(t.server_errors));
}

}  // namespace parley::bench
