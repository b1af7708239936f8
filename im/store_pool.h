#pragma once
// The threads that run blocking store calls, so that no event loop ever waits on the database.
//
// Ownership and threads: the server owns one StorePool. write(), read() and insert_message()
// may be called from any thread; jobs run on the pool's own threads, each of which owns one
// store::Store connection. Jobs report back by posting to the loop that asked.
//
// One writer thread runs every message insert in submission order. Consecutive inserts are
// batched into one transaction (group commit): one fsync acknowledges many messages, and the
// single writer makes per-conversation seq assignment race-free. Reader threads, one
// connection each, serve the other jobs round-robin: queries, and also the API's small writes
// (accounts, friends, groups, read marks), which the database serializes itself. Slow-job
// threads run what is CPU-bound, such as the password hash of register and login, so that a
// burst of logins cannot occupy the readers that every other request waits for.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/mpsc_queue.h"
#include "store/store.h"

namespace parley::im {

// The outcome of one message insert: the stored message, or an error text when the batch
// failed (nothing of it was stored).
struct InsertOutcome {
  bool ok = false;
  store::InsertResult result;
  std::string error;
};

class StorePool {
 public:
  using Job = std::function<void(store::Store&)>;
  using InsertDone = std::function<void(InsertOutcome)>;

  // Opens one connection per thread. Throws store::StoreError when the database cannot be
  // opened. Does not start threads.
  StorePool(const std::string& url, int reader_threads, int slow_threads = 2);
  ~StorePool();

  void start();
  // Runs every queued job, then joins the threads.
  void stop();

  void read(Job job);
  // Runs a CPU-heavy job (a password hash) on the slow-job threads.
  void read_slow(Job job);
  // Queues a message insert on the writer; `done` runs on the writer thread after the batch
  // containing it committed or failed.
  void insert_message(store::Message message, InsertDone done);

  // Messages per insert transaction, at most.
  static constexpr size_t kMaxBatch = 1024;

 private:
  struct Item {
    Job job;                       // a plain job, or empty for an insert
    store::Message message;        // for an insert
    InsertDone done;               // for an insert
    bool stop = false;

    static Item stop_item() {
      Item item;
      item.stop = true;
      return item;
    }
    static Item job_item(Job job) {
      Item item;
      item.job = std::move(job);
      return item;
    }
    static Item insert_item(store::Message message, InsertDone done) {
      Item item;
      item.message = std::move(message);
      item.done = std::move(done);
      return item;
    }
  };

  class Worker {
   public:
    explicit Worker(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}
    void push(Item item);
    // Blocks until items are available, then moves them all into `out`. Returns false once a
    // stop item was taken and nothing else is left.
    bool wait_and_take(std::vector<Item>& out);
    store::Store& store() { return *store_; }
    std::thread thread;

   private:
    std::unique_ptr<store::Store> store_;
    net::MpscQueue<Item> queue_;
    std::atomic<uint32_t> pending_{0};
    bool stopped_ = false;
  };

  void run_writer();
  void run_reader(Worker& worker);
  void commit_batch(std::vector<Item>& batch);

  std::unique_ptr<Worker> writer_;
  std::vector<std::unique_ptr<Worker>> readers_;
  std::atomic<size_t> next_reader_{0};
  std::vector<std::unique_ptr<Worker>> slow_readers_;
  std::atomic<size_t> next_slow_reader_{0};
  bool started_ = false;
};

}  // namespace parley::im
