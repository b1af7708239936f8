#include "im/store_pool.h"

#include <exception>

#include "net/log.h"

namespace parley::im {

void StorePool::Worker::push(Item item) {
  queue_.push(std::move(item));
  // Only the push that finds the counter at zero can find the worker asleep.
  if (pending_.fetch_add(1, std::memory_order_acq_rel) == 0) {
    pending_.notify_one();
  }
}

bool StorePool::Worker::wait_and_take(std::vector<Item>& out) {
  for (;;) {
    if (stopped_) {
      return false;
    }
    uint32_t pending = pending_.load(std::memory_order_acquire);
    if (pending == 0) {
      pending_.wait(0, std::memory_order_acquire);
      continue;
    }
    uint32_t taken = 0;
    while (auto item = queue_.pop()) {
      ++taken;
      if (item->stop) {
        stopped_ = true;
        continue;
      }
      out.push_back(std::move(*item));
    }
    if (taken == 0) {
      std::this_thread::yield();  // a producer is between its counter bump and its link
      continue;
    }
    pending_.fetch_sub(taken, std::memory_order_acq_rel);
    if (!out.empty()) {
      return true;
    }
  }
}

StorePool::StorePool(const std::string& url, int reader_threads, int slow_threads) {
  writer_ = std::make_unique<Worker>(store::open_store(url));
  for (int i = 0; i < reader_threads; ++i) {
    readers_.push_back(std::make_unique<Worker>(store::open_store(url)));
  }
  for (int i = 0; i < slow_threads; ++i) {
    slow_readers_.push_back(std::make_unique<Worker>(store::open_store(url)));
  }
}

StorePool::~StorePool() { stop(); }

void StorePool::start() {
  started_ = true;
  writer_->thread = std::thread([this] { run_writer(); });
  for (auto* pool : {&readers_, &slow_readers_}) {
    for (auto& reader : *pool) {
      Worker* worker = reader.get();
      worker->thread = std::thread([this, worker] { run_reader(*worker); });
    }
  }
}

void StorePool::stop() {
  if (!started_) {
    return;
  }
  started_ = false;
  for (auto* pool : {&readers_, &slow_readers_}) {
    for (auto& reader : *pool) {
      reader->push(Item::stop_item());
    }
    for (auto& reader : *pool) {
      reader->thread.join();
    }
  }
  writer_->push(Item::stop_item());
  writer_->thread.join();
}


void StorePool::read(Job job) {
  size_t index = next_reader_.fetch_add(1, std::memory_order_relaxed) % readers_.size();
  readers_[index]->push(Item::job_item(std::move(job)));
}

void StorePool::read_slow(Job job) {
  size_t index = next_slow_reader_.fetch_add(1, std::memory_order_relaxed) % slow_readers_.size();
  slow_readers_[index]->push(Item::job_item(std::move(job)));
}

void StorePool::insert_message(store::Message message, InsertDone done) {
  writer_->push(Item::insert_item(std::move(message), std::move(done)));
}

namespace {
void run_job(const StorePool::Job& job, store::Store& store) {
  try {
    job(store);
  } catch (const std::exception& e) {
    // Jobs report their own expected failures; anything escaping is a bug or a dead database.
    net::log(net::LogLevel::kError, "store job failed: ", e.what());
  }
}
}  // namespace

void StorePool::run_reader(Worker& worker) {
  std::vector<Item> items;
  while (worker.wait_and_take(items)) {
    for (Item& item : items) {
      run_job(item.job, worker.store());
    }
    items.clear();
  }
}

void StorePool::run_writer() {
  std::vector<Item> items;
  std::vector<Item> batch;
  while (writer_->wait_and_take(items)) {
    for (Item& item : items) {
      if (item.job) {
        // Keep submission order: inserts queued before this job commit before it runs.
        commit_batch(batch);
        run_job(item.job, writer_->store());
        continue;
      }
      batch.push_back(std::move(item));
      if (batch.size() >= kMaxBatch) {
        commit_batch(batch);
      }
    }
    commit_batch(batch);
    items.clear();
  }
}

void StorePool::commit_batch(std::vector<Item>& batch) {
  if (batch.empty()) {
    return;
  }
  std::vector<store::Message> messages;
  messages.reserve(batch.size());
  for (Item& item : batch) {
    messages.push_back(std::move(item.message));
  }
  std::vector<InsertOutcome> outcomes(batch.size());
  try {
    std::vector<store::InsertResult> results = writer_->store().insert_messages(messages);
    for (size_t i = 0; i < batch.size() && i < results.size(); ++i) {
      outcomes[i].ok = true;
      outcomes[i].result = std::move(results[i]);
    }
  } catch (const std::exception& e) {
    net::log(net::LogLevel::kError, "storing a batch of ", batch.size(),
             " messages failed: ", e.what());
    for (InsertOutcome& outcome : outcomes) {
      outcome.error = e.what();
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(std::move(outcomes[i]));
  }
  batch.clear();
}

}  // namespace parley::im
