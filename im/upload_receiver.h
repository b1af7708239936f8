#pragma once
// The connection side of one POST /api/upload. The body is never held whole: the receiver
// checks the head, has the token checked on a store worker, then feeds the body as it arrives
// through a MultipartReader into an UploadFile, and responds when the file is stored.
//
// Ownership and threads: owned by the ClientHandler of its connection and used only on that
// connection's loop thread. Store-worker results reach it through ClientHandler::with_upload(),
// which compares the upload id, so a result for a closed connection or an earlier upload is
// dropped.
//
// Memory: the file's bytes wait in the UploadFile queue until a worker has written them. Above
// kMaxQueuedBytes the receiver pauses reading from the socket until the queue is back at
// kResumeBytes, so an upload holds about kMaxQueuedBytes plus one socket read (64 KiB) and the
// multipart reader's bounded state, whatever its size.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_message.h"
#include "net/multipart.h"

namespace parley::im {

class ClientHandler;
class UploadFile;
struct StoredUpload;

// Bytes of multipart framing and other form fields that a request body may carry beyond the
// --max-upload limit of the file itself.
constexpr size_t kUploadFramingBytes = 64 * 1024;

// Returns whether a request head starts an upload, which the connection must stream.
bool is_upload_request(const net::HttpRequest& request);

class UploadReceiver final : private net::MultipartVisitor {
 public:
  static constexpr size_t kMaxQueuedBytes = 192 * 1024;
  static constexpr size_t kResumeBytes = 64 * 1024;

  UploadReceiver(ClientHandler& handler, uint64_t id);
  ~UploadReceiver() override;
  UploadReceiver(const UploadReceiver&) = delete;
  UploadReceiver& operator=(const UploadReceiver&) = delete;

  // Checks the head and starts the token check on a store worker. Responds at once with 401,
  // and closes the connection after the response, when the request has no token. A body over
  // the limit (413) or a Content-Type without a multipart boundary (400) is rejected once the
  // token is accepted, still before any body byte is read.
  void start(net::HttpRequest&& head, size_t body_length);
  // Consumes body bytes from the front of `data` and returns how many; 0 until the token has
  // been accepted.
  size_t on_body(std::string_view data);
  // Aborts the upload: the temporary file is removed. Called when the connection closes.
  void on_connection_closed();

  uint64_t id() const { return id_; }
  // Whether body bytes are being read now (the token was accepted, the body is incomplete).
  bool receiving() const { return state_ == State::kReceiving; }
  // Whether the response was sent, so the handler may destroy the receiver.
  bool done() const { return state_ == State::kDone; }

  // Results from store workers, through ClientHandler::with_upload().
  void on_authorized(std::optional<int64_t> user, bool store_failed);
  void on_wake();
  void on_stored(const StoredUpload& stored);

 private:
  enum class State { kAuthorizing, kReceiving, kStoring, kDone };

  void on_part_begin(const net::MultipartPart& part) override;
  void on_part_data(std::string_view data) override;
  void on_part_end() override;

  void end_of_body();
  // Responds with an error and drops the file. The connection closes after the response
  // unless the whole body was read.
  void reject(const net::HttpResponse& response);
  void apply_back_pressure();
  std::string log_id() const;

  ClientHandler& handler_;
  const uint64_t id_;
  State state_ = State::kAuthorizing;
  int64_t user_ = 0;
  bool expect_continue_ = false;
  size_t body_length_ = 0;
  size_t body_received_ = 0;
  size_t max_file_bytes_ = 0;

  std::optional<net::MultipartReader> reader_;
  std::shared_ptr<UploadFile> file_;
  bool in_file_part_ = false;    // the reader is inside the part named "file"
  bool file_part_seen_ = false;  // only the first part named "file" is stored
  uint64_t file_bytes_ = 0;
  bool over_limit_ = false;
};

}  // namespace parley::im
