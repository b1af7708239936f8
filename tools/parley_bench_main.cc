// parley-bench: a load generator for parleyd and any WebSocket or TCP echo server, with its own
// epoll client (tools/bench/) so that it shares no code path with the server it measures.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/bench/account_setup.h"
#include "tools/bench/load_worker.h"
#include "tools/bench/options.h"
#include "tools/bench/proc_stats.h"
#include "tools/bench/report.h"
#include "tools/bench/scenarios.h"

namespace parley::bench {
namespace {

CounterSnapshot snapshot(const std::vector<std::unique_ptr<Worker>>& workers) {
  CounterSnapshot sum{};
  for (const auto& worker : workers) {
    const Counters& c = worker->counters;
    sum.sent += c.sent.load(std::memory_order_relaxed);
    sum.replies += c.replies.load(std::memory_order_relaxed);
    sum.deliveries += c.deliveries.load(std::memory_order_relaxed);
    sum.handshakes += c.handshakes.load(std::memory_order_relaxed);
    sum.open += c.open.load(std::memory_order_relaxed);
    sum.refused += c.refused.load(std::memory_order_relaxed);
    sum.rejected += c.rejected.load(std::memory_order_relaxed);
    sum.dropped += c.dropped.load(std::memory_order_relaxed);
    sum.server_errors += c.server_errors.load(std::memory_order_relaxed);
  }
  return sum;
}

CounterSnapshot subtract(const CounterSnapshot& a, const CounterSnapshot& b) {
  return {a.sent - b.sent,
          a.replies - b.replies,
          a.deliveries - b.deliveries,
          a.handshakes - b.handshakes,
          a.open,
          a.refused - b.refused,
          a.rejected - b.rejected,
          a.dropped - b.dropped,
          a.server_errors - b.server_errors};
}

void print_progress(const Options& options, double elapsed, const CounterSnapshot& now,
                    const CounterSnapshot& last) {
  if (options.quiet)
    return;
  std::fprintf(stderr,
               "[%5.1fs] open %llu  sent/s %llu  replies/s %llu  deliveries/s %llu  "
               "handshakes/s %llu  refused %llu  rejected %llu  dropped %llu\n",
               elapsed, static_cast<unsigned long long>(now.open),
               static_cast<unsigned long long>(now.sent - last.sent),
               static_cast<unsigned long long>(now.replies - last.replies),
               static_cast<unsigned long long>(now.deliveries - last.deliveries),
               static_cast<unsigned long long>(now.handshakes - last.handshakes),
               static_cast<unsigned long long>(now.refused),
               static_cast<unsigned long long>(now.rejected),
               static_cast<unsigned long long>(now.dropped));
}

// Whether every connection has failed. A connection that failed is never opened again, so
// then none is open or still opening and the run can measure nothing more.
bool all_failed(const CounterSnapshot& counts, int connection_count) {
  return counts.refused + counts.rejected + counts.dropped >=
         static_cast<uint64_t>(connection_count);
}

// Builds the scenario, running the account setup for chat and group. Returns null on failure.
std::unique_ptr<Scenario> build_scenario(Options& options, int& connection_count) {
  connection_count = options.connections;
  if (options.scenario == "echo")
    return make_echo_scenario(options);
  if (options.scenario == "tcp")
    return make_tcp_scenario(options);
  if (options.scenario == "connect")
    return make_connect_scenario(options);
  if (options.scenario == "idle")
    return make_idle_scenario(options);

  bool group = options.scenario == "group";
  connection_count = group ? options.members : 2 * options.connections;
  auto started = std::chrono::steady_clock::now();
  std::vector<BenchUser> users;
  std::string error;
  if (!create_users(options, connection_count, users, error)) {
    std::fprintf(stderr, "parley-bench: account setup failed: %s\n", error.c_str());
    return nullptr;
  }
  int64_t group_id = 0;
  if (group) {
    group_id = create_group(options, users, error);
    if (group_id == 0) {
      std::fprintf(stderr, "parley-bench: group setup failed: %s\n", error.c_str());
      return nullptr;
    }
  } else if (!befriend_pairs(options, users, error)) {
    std::fprintf(stderr, "parley-bench: friend setup failed: %s\n", error.c_str());
    return nullptr;
  }
  if (!options.quiet) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    std::fprintf(stderr, "parley-bench: set up %d users in %.1f s\n", connection_count,
                 took.count());
  }
  return make_chat_scenario(options, std::move(users), group_id);
}

// Reads the memory figures of the idle scenario; the server's need its pid.
RunResult::Memory read_memory(pid_t server_pid) {
  RunResult::Memory memory;
  if (server_pid > 0) {
    memory.rss = read_status_bytes(server_pid, "VmRSS");
    memory.anon = read_status_bytes(server_pid, "RssAnon");
  }
  memory.slab = read_slab_bytes();
  memory.tcp_buffer = read_tcp_buffer_bytes();
  return memory;
}

int run(Options& options) {
  signal(SIGPIPE, SIG_IGN);
  // Each connection needs a descriptor. Raise the soft limit as far as the hard one allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  int connection_count = 0;
  std::unique_ptr<Scenario> scenario = build_scenario(options, connection_count);
  if (!scenario)
    return 1;

  RunResult result;
  if (options.scenario == "idle")
    result.memory_before = read_memory(options.server_pid);

  RunControl control;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::vector<int>> shares(options.threads);
  for (int i = 0; i < connection_count; ++i)
    shares[i % options.threads].push_back(i);
  for (int t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(options, *scenario, control, t, shares[t]));
  }
  std::vector<std::thread> threads;
  for (auto& worker : workers)
    threads.emplace_back([&worker] { worker->run(); });

  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  CounterSnapshot last{};
  double next_progress = 1;
  // The connect scenario measures the opening itself. The others wait until every connection
  // is open or has failed.
  if (options.scenario != "connect") {
    for (;;) {
      CounterSnapshot now = snapshot(workers);
      if (now.open + now.refused + now.rejected + now.dropped >=
              static_cast<uint64_t>(connection_count) ||
          elapsed() > options.ramp_timeout) {
        break;
      }
      if (elapsed() >= next_progress) {
        print_progress(options, elapsed(), now, last);
        last = now;
        next_progress += 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (options.scenario == "idle" && options.server_pid > 0) {
    // Give the server a moment to finish the work the last handshakes started.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    result.memory_after = read_memory(options.server_pid);
    result.open_for_rss = snapshot(workers).open;
  }

  int64_t cpu_before = options.server_pid > 0 ? read_cpu_us(options.server_pid) : -1;
  CounterSnapshot before = snapshot(workers);
  control.measuring = true;
  auto measure_start = std::chrono::steady_clock::now();
  last = before;
  // Polls every 10 ms, so that a run whose connections have all failed stops at once instead
  // of waiting out --duration, and prints progress once a second.
  const auto measure_end = measure_start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::duration<double>(options.duration));
  auto next_progress_at = measure_start + std::chrono::seconds(1);
  while (!all_failed(before, connection_count)) {
    auto wake = std::min({next_progress_at, measure_end,
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(10)});
    std::this_thread::sleep_until(wake);
    CounterSnapshot now = snapshot(workers);
    const auto woke = std::chrono::steady_clock::now();
    if (woke >= next_progress_at || woke >= measure_end) {
      print_progress(options, elapsed(), now, last);
      last = now;
      next_progress_at += std::chrono::seconds(1);
    }
    if (woke >= measure_end || all_failed(now, connection_count))
      break;
  }
  CounterSnapshot after = snapshot(workers);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - measure_start).count();
  int64_t cpu_after = options.server_pid > 0 ? read_cpu_us(options.server_pid) : -1;
  if (cpu_before >= 0 && cpu_after >= 0)
    result.server_cpu_us = cpu_after - cpu_before;
  control.measuring = false;
  control.stopping = true;
  for (std::thread& thread : threads)
    thread.join();

  result.delta = subtract(after, before);
  result.total = after;
  for (auto& worker : workers) {
    result.reply_latency.merge(worker->reply_latency);
    result.delivery_latency.merge(worker->delivery_latency);
    result.handshake_latency.merge(worker->handshake_latency);
    if (result.first_error.empty())
      result.first_error = worker->first_error;
  }
  if (options.json) {
    print_json(options, result);
  } else {
    print_table(options, result);
  }

  const CounterSnapshot& t = result.total;
  uint64_t failures = t.refused + t.rejected + t.dropped;
  if (failures > 0 || t.server_errors > 0) {
    std::fprintf(stderr,
                 "parley-bench: error: %llu connections refused, %llu rejected in the handshake, "
                 "%llu dropped by the server, %llu error frames; first: %s\n",
                 static_cast<unsigned long long>(t.refused),
                 static_cast<unsigned long long>(t.rejected),
                 static_cast<unsigned long long>(t.dropped),
                 static_cast<unsigned long long>(t.server_errors), result.first_error.c_str());
    return 1;
  }
  if (t.handshakes == 0) {
    std::fputs("parley-bench: error: no connection opened\n", stderr);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  parley::bench::Options options;
  int code = parley::bench::parse_options(argc, argv, options);
  if (code == -1)
    return 0;
  if (code != 0)
    return code;
  return parley::bench::run(options);
}
