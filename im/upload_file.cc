#include "im/upload_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "net/log.h"

namespace parley::im {

namespace {

// A chunk collects appended bytes up to this size, so that many small reads from the socket
// cost one write(2).
constexpr size_t kChunkBytes = 64 * 1024;
// The first bytes kept for sniff_type, which looks at 12 at most.
constexpr size_t kSniffBytes = 16;

std::string hash_hex(const XXH128_hash_t& hash) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return hex;
}

}  // namespace

std::shared_ptr<UploadFile> UploadFile::create(StorePool& pool, std::string media_dir,
                                               std::string log_id, size_t low_water_bytes,
                                               Wake wake) {
  return std::shared_ptr<UploadFile>(new UploadFile(pool, std::move(media_dir), std::move(log_id),
                                                    low_water_bytes, std::move(wake)));
}

UploadFile::UploadFile(StorePool& pool, std::string media_dir, std::string log_id,
                       size_t low_water_bytes, Wake wake)
    : pool_(pool),
      media_dir_(std::move(media_dir)),
      log_id_(std::move(log_id)),
      low_water_bytes_(low_water_bytes),
      wake_(std::move(wake)),
      hash_state_(XXH3_createState()) {
  if (hash_state_ == nullptr) {
    net::log(net::LogLevel::kError, "upload ", log_id_, ": no memory for the hash state");
    failed_ = true;
    return;
  }
  XXH3_128bits_reset(hash_state_);
}

UploadFile::~UploadFile() {
  // Jobs clean up before they drop the last reference. This catches an upload that was never
  // finished or aborted, so that no temporary file outlives it.
  remove_temp();
  XXH3_freeState(hash_state_);
}

void UploadFile::append(std::string_view bytes) {
  std::lock_guard lock(mutex_);
  if (bytes.empty() || failed_ || aborted_ || finishing_) {
    return;
  }
  if (!chunks_.empty() && chunks_.back().size() + bytes.size() <= kChunkBytes) {
    chunks_.back().append(bytes);
  } else {
    chunks_.emplace_back(bytes);
  }
  queued_ += bytes.size();
  schedule_locked();
}

bool UploadFile::request_wake() {
  std::lock_guard lock(mutex_);
  if (queued_ <= low_water_bytes_ || failed_) {
    return false;
  }
  wake_requested_ = true;
  return true;
}

void UploadFile::finish(Done done) {
  std::lock_guard lock(mutex_);
  if (aborted_ || finishing_) {
    return;
  }
  finishing_ = true;
  done_ = std::move(done);
  schedule_locked();
}

void UploadFile::abort() {
  std::lock_guard lock(mutex_);
  if (aborted_ || finishing_) {
    return;
  }
  aborted_ = true;
  wake_requested_ = false;
  chunks_.clear();
  queued_ = 0;
  schedule_locked();
}

size_t UploadFile::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

bool UploadFile::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

void UploadFile::schedule_locked() {
  if (running_) {
    return;  // the running job looks at the queue again before it ends
  }
  running_ = true;
  pool_.read([self = shared_from_this()](store::Store&) { self->run(); });
}

void UploadFile::run() {
  std::deque<std::string> batch;
  bool skip_writes = false;
  {
    std::lock_guard lock(mutex_);
    if (!aborted_) {
      batch.swap(chunks_);
      skip_writes = failed_;
    }
  }
  size_t taken = 0;
  bool write_failed = false;
  for (const std::string& chunk : batch) {
    if (!skip_writes && !write_failed) {
      write_failed = !write_chunk(chunk);
    }
    taken += chunk.size();
  }

  bool wake = false;
  bool again = false;
  bool complete = false;
  bool aborted = false;
  {
    std::lock_guard lock(mutex_);
    queued_ = queued_ >= taken ? queued_ - taken : 0;
    if (write_failed) {
      failed_ = true;
      chunks_.clear();
      queued_ = 0;
      wake = true;  // the loop answers 500 without waiting for the rest of the body
    } else if (wake_requested_ && queued_ <= low_water_bytes_) {
      wake_requested_ = false;
      wake = true;
    }
    if (aborted_) {
      aborted = true;
      running_ = false;
    } else if (!chunks_.empty()) {
      again = true;
    } else if (finishing_) {
      complete = true;
    } else {
      running_ = false;
    }
  }
  if (write_failed || aborted) {
    remove_temp();
  }
  if (aborted) {
    return;
  }
  if (wake) {
    wake_();
  }
  if (again) {
    // Queued behind other jobs instead of looping here, so that a long upload shares the
    // worker with the store queries waiting for it.
    pool_.read([self = shared_from_this()](store::Store&) { self->run(); });
    return;
  }
  if (!complete) {
    return;
  }
  StoredUpload result;
  if (!failed() && (fd_ >= 0 || open_temp())) {
    publish(result);
  }
  remove_temp();
  Done done;
  {
    std::lock_guard lock(mutex_);
    done = std::move(done_);
  }
  done(result);
}

bool UploadFile::open_temp() {
  std::error_code error;
  std::filesystem::create_directories(media_dir_, error);  // open reports what matters
  // A leading dot and a name without an extension keep valid_media_name from ever serving it.
  // NOTE: a process killed partway through an upload leaves this file behind, and nothing
  // removes such ".upload-*" files at start-up yet.
  std::string path = (std::filesystem::path(media_dir_) / ".upload-XXXXXX").string();
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    net::log(net::LogLevel::kError, "upload ", log_id_, ": creating a temporary file in ",
             media_dir_, " failed: ", std::strerror(errno));
    return false;
  }
  // mkostemp creates the file with mode 0600; stored media gets 0644 as before, so that other
  // processes of the same host (a backup, a reverse proxy) can read it.
  if (::fchmod(fd, 0644) != 0) {
    net::log(net::LogLevel::kWarn, "upload ", log_id_, ": chmod of ", path,
             " failed: ", std::strerror(errno));
  }
  fd_ = fd;
  temp_path_ = std::move(path);
  return true;
}

bool UploadFile::write_chunk(std::string_view chunk) {
  if (fd_ < 0 && !open_temp()) {
    return false;
  }
  if (head_.size() < kSniffBytes) {
    head_.append(chunk.substr(0, kSniffBytes - head_.size()));
  }
  XXH3_128bits_update(hash_state_, chunk.data(), chunk.size());
  written_ += chunk.size();
  while (!chunk.empty()) {
    ssize_t n = ::write(fd_, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      net::log(net::LogLevel::kError, "upload ", log_id_, ": writing ", temp_path_,
               " failed: ", std::strerror(errno));
      return false;
    }
    chunk.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Gives the complete temporary file its final name. link(2) fails with EEXIST when that name
// exists, which leaves the stored copy alone; a file with the name always has these bytes,
// because names come from the content hash and are given only to complete files.
void UploadFile::publish(StoredUpload& result) {
  SniffedType type = sniff_type(head_);
  std::string name = hash_hex(XXH3_128bits_digest(hash_state_)) + "." + std::string(type.extension);
  std::string path = (std::filesystem::path(media_dir_) / name).string();
  // The bytes must be on disk before the name is, or a crash could leave the name on an empty
  // or partial file that every later identical upload would trust.
  if (::fsync(fd_) != 0) {
    net::log(net::LogLevel::kError, "upload ", log_id_, ": fsync of ", temp_path_,
             " failed: ", std::strerror(errno));
    return;
  }
  if (::link(temp_path_.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    int link_error = errno;
    // Some file systems (FAT, some network mounts) have no hard links. rename(2) replaces an
    // existing file, which then has the same bytes, so it is a safe second choice.
    if (::rename(temp_path_.c_str(), path.c_str()) != 0) {
      net::log(net::LogLevel::kError, "upload ", log_id_, ": naming ", temp_path_, " ", name,
               " failed: link: ", std::strerror(link_error), ", rename: ", std::strerror(errno));
      return;
    }
    temp_path_.clear();
  }
  result.ok = true;
  result.name = std::move(name);
  result.type = type;
  result.size = written_;
  net::log(net::LogLevel::kDebug, "upload ", log_id_, ": stored ", result.name, " (", result.size,
           " bytes)");
}

void UploadFile::remove_temp() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (temp_path_.empty()) {
    return;
  }
  if (::unlink(temp_path_.c_str()) != 0 && errno != ENOENT) {
    net::log(net::LogLevel::kError, "upload ", log_id_, ": removing ", temp_path_,
             " failed: ", std::strerror(errno));
  }
  temp_path_.clear();
}

}  // namespace parley::im
