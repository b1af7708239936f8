#pragma once
// The file of one upload, written to a temporary file in the media directory while the request
// body streams in, then named after the XXH3-128 hash of its content.
//
// Ownership and threads: the connection's loop thread creates an UploadFile, appends the file's
// bytes, and calls finish() or abort() once. The writes run on store workers, one job at a time
// and each job on at most the bytes queued when it started, so the bytes reach the disk in
// append() order and a long upload never keeps a worker from other jobs for long. Jobs hold a
// shared_ptr, so the object lives until the last one ends. The callbacks run on a store worker.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "im/media.h"
#include "im/store_pool.h"

struct XXH3_state_s;

namespace parley::im {

// What finish() produced.
struct StoredUpload {
  bool ok = false;
  std::string name;  // HASH.EXT in the media directory
  SniffedType type;
  uint64_t size = 0;
};

class UploadFile : public std::enable_shared_from_this<UploadFile> {
 public:
  using Wake = std::function<void()>;
  using Done = std::function<void(const StoredUpload&)>;

  // `wake` runs after a write failed, and after the queue fell to `low_water_bytes` or below
  // once request_wake() asked for it. `log_id` names the upload in log lines ("conn 7 user 3").
  static std::shared_ptr<UploadFile> create(StorePool& pool, std::string media_dir,
                                            std::string log_id, size_t low_water_bytes, Wake wake);
  ~UploadFile();
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;

  // Queues the next bytes of the file. Loop thread.
  void append(std::string_view bytes);
  // Asks for one wake call once the queue has fallen to the low-water mark. Returns false, and
  // asks for nothing, when it already has or a write failed. Loop thread.
  [[nodiscard]] bool request_wake();
  // Writes what is queued, then moves the temporary file to HASH.EXT, or removes it when a file
  // of that name exists (a repeated upload is stored once), and calls `done`. On a failure the
  // temporary file is removed and `done` gets ok == false. Loop thread, once.
  void finish(Done done);
  // Drops queued bytes and removes the temporary file. Loop thread; a no-op after finish().
  void abort();

  // Bytes appended and not yet written. Any thread.
  size_t queued_bytes() const;
  // Whether a write failed; finish() will then report ok == false. Any thread.
  bool failed() const;

 private:
  UploadFile(StorePool& pool, std::string media_dir, std::string log_id, size_t low_water_bytes,
             Wake wake);

  // Starts a job unless one runs. Called with mutex_ held.
  void schedule_locked();
  // The job: writes the chunks queued when it starts, then publishes the file, removes it, or
  // queues itself again. Store worker.
  void run();
  bool open_temp();
  bool write_chunk(std::string_view chunk);
  void publish(StoredUpload& result);
  // Closes and unlinks the temporary file if there is one.
  void remove_temp();

  StorePool& pool_;
  const std::string media_dir_;
  const std::string log_id_;
  const size_t low_water_bytes_;
  const Wake wake_;

  mutable std::mutex mutex_;
  std::deque<std::string> chunks_;  // guarded by mutex_
  size_t queued_ = 0;               // guarded by mutex_
  bool running_ = false;            // a job is queued or running; guarded by mutex_
  bool wake_requested_ = false;     // guarded by mutex_
  bool failed_ = false;             // guarded by mutex_
  bool aborted_ = false;            // guarded by mutex_
  bool finishing_ = false;          // guarded by mutex_
  Done done_;                       // guarded by mutex_

  // Touched only by the job, which runs on one worker at a time.
  int fd_ = -1;
  std::string temp_path_;  // empty once the temporary file is gone
  XXH3_state_s* hash_state_ = nullptr;
  std::string head_;  // the first bytes, for sniff_type
  uint64_t written_ = 0;
};

}  // namespace parley::im
