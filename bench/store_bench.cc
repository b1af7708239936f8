// Google Benchmark cases for the store: message inserts by batch size (what group commit buys)
// and one history page from a long conversation.
//
// SQLite runs on a fresh file under $TMPDIR. The same cases run on MySQL or MariaDB when
// PARLEY_BENCH_MYSQL_URL names an empty database (scripts/mariadb.sh start DIR prints one).
// PARLEY_BENCH_HISTORY_MESSAGES sets the length of the history conversation (default
// 1,000,000). Filling it is not timed, but the fill_seconds counter reports how long it took.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using parley::store::ConvKey;
using parley::store::Message;
using parley::store::Store;

std::string temp_sqlite_url(const std::string& name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "parley-store-bench";
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(file.string() + suffix);
  }
  return "sqlite:" + file.string();
}

// Opens a store with two users who may write to each other; returns it with their ids.
struct Fixture {
  std::unique_ptr<Store> store;
  int64_t alice = 0;
  int64_t bob = 0;
};

Fixture open_fixture(const std::string& url) {
  Fixture fixture;
  fixture.store = parley::store::open_store(url);
  fixture.store->migrate();
  std::string suffix = std::to_string(std::random_device{}());
  fixture.alice = fixture.store->create_user("bench_a" + suffix, "x", "a", 0)->id;
  fixture.bob = fixture.store->create_user("bench_b" + suffix, "x", "b", 0)->id;
  return fixture;
}

std::vector<Message> make_batch(const Fixture& fixture, size_t size, int64_t& next_cid) {
  std::vector<Message> batch(size);
  for (Message& m : batch) {
    m.conv = ConvKey::direct(fixture.alice, fixture.bob);
    m.sender = fixture.alice;
    m.dst = fixture.bob;
    m.ts = 1700000000000 + next_cid;
    m.cid = "c" + std::to_string(next_cid++);
    m.content = std::string(128, 'x');
  }
  return batch;
}

// Messages stored per second when the writer commits `batch` messages per transaction.
void insert_messages(benchmark::State& state, const std::string& url) {
  Fixture fixture = open_fixture(url);
  int64_t next_cid = 0;
  auto size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Message> batch = make_batch(fixture, size, next_cid);
    state.ResumeTiming();
    benchmark::DoNotOptimize(fixture.store->insert_messages(batch));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The newest 50 messages before a random seq of a conversation of `length` messages.
void history_page(benchmark::State& state, const std::string& url) {
  int64_t length = 1000000;
  if (const char* text = std::getenv("PARLEY_BENCH_HISTORY_MESSAGES")) {
    length = std::atoll(text);
  }
  Fixture fixture = open_fixture(url);
  int64_t next_cid = 0;
  const auto fill_start = std::chrono::steady_clock::now();
  while (next_cid < length) {
    size_t size = static_cast<size_t>(std::min<int64_t>(1024, length - next_cid));
    fixture.store->insert_messages(make_batch(fixture, size, next_cid));
  }
  const std::chrono::duration<double> fill_time = std::chrono::steady_clock::now() - fill_start;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> seq(51, length);
  ConvKey conv = ConvKey::direct(fixture.alice, fixture.bob);
  for (auto _ : state) {
    auto page = fixture.store->messages_before(conv, seq(random), 50);
    if (page.size() != 50) {
      state.SkipWithError("a history page did not hold 50 messages");
      break;
    }
    benchmark::DoNotOptimize(page);
  }
  state.counters["messages"] = static_cast<double>(length);
  // Seconds the untimed fill took, in batches of 1,024 into one conversation that grows.
  state.counters["fill_seconds"] = fill_time.count();
}

void register_all() {
  std::vector<std::pair<std::string, std::string>> backends = {
      {"sqlite", temp_sqlite_url("insert")}};
  if (const char* mysql = std::getenv("PARLEY_BENCH_MYSQL_URL")) {
    backends.emplace_back("mysql", mysql);
  }
  for (const auto& [name, url] : backends) {
    std::string insert_url = url;
    benchmark::RegisterBenchmark(
        ("store_insert/" + name).c_str(),
        [insert_url](benchmark::State& state) { insert_messages(state, insert_url); })
        ->Arg(1)
        ->Arg(16)
        ->Arg(256)
        ->Arg(1024)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();  // a commit waits for fsync, which CPU time does not show
    std::string history_url = name == "sqlite" ? temp_sqlite_url("history") : url;
    benchmark::RegisterBenchmark(
        ("store_history_page/" + name).c_str(),
        [history_url](benchmark::State& state) { history_page(state, history_url); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime()
        ->Iterations(2000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
