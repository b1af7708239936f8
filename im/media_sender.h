#pragma once
// Sends the body of a GET /media/NAME response in pieces that store workers read with
// pread(2), one piece at a time, and only while the connection has little output queued. So a
// download keeps at most kWindowBytes plus one piece in memory whatever the file size, and a
// slow reader stalls only its own download. It works the same on TLS connections, where
// sendfile(2) could not help.
//
// Ownership and threads: a MediaSender is owned by the ClientHandler of its connection and
// used on that connection's loop thread. The open file is shared with the read jobs, which
// answer through post_to_handler(), so a job that finishes after the connection closed finds
// nothing to answer and only closes the file.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace parley::im {

class ClientHandler;

// An open media file; the descriptor is closed when the last owner drops it.
struct MediaFile {
  MediaFile(int fd, uint64_t size) : fd(fd), size(size) {}
  ~MediaFile();
  MediaFile(const MediaFile&) = delete;
  MediaFile& operator=(const MediaFile&) = delete;

  const int fd;
  const uint64_t size;  // from fstat(2) when the file was opened
};

class MediaSender {
 public:
  // Bytes one read job reads.
  static constexpr size_t kPieceBytes = 64 * 1024;
  // Output queued on the connection above which no further piece is read.
  static constexpr size_t kWindowBytes = 256 * 1024;

  // Sends the whole of `file`; the response head must have been sent already.
  MediaSender(ClientHandler& handler, std::shared_ptr<MediaFile> file);

  // Starts the next read unless one is running, every byte was read, or the output queue is
  // over kWindowBytes, in which case the connection's drain notice calls this again.
  void pump();
  // Sends a piece that a read job returned, or closes the connection when the read failed,
  // because the head has promised a Content-Length that can no longer be met.
  void on_piece(std::string bytes, bool ok);

  bool done() const { return sent_ == file_->size; }
  // Monotonic ms when the last piece was queued. A piece is read only while less than
  // kWindowBytes of output waits for the client, so this shows that the client still reads.
  int64_t last_progress_ms() const { return last_progress_ms_; }
  const MediaFile* file() const { return file_.get(); }

 private:
  ClientHandler& handler_;
  std::shared_ptr<MediaFile> file_;
  uint64_t requested_ = 0;  // bytes asked of read jobs so far
  uint64_t sent_ = 0;       // bytes queued on the connection so far
  bool reading_ = false;
  int64_t last_progress_ms_ = 0;
};

}  // namespace parley::im
