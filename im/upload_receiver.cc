#include "im/upload_receiver.h"

#include <algorithm>

#include "im/api.h"
#include "im/client_handler.h"
#include "im/credentials.h"
#include "im/json.h"
#include "im/upload_file.h"
#include "net/log.h"

namespace parley::im {

bool is_upload_request(const net::HttpRequest& request) {
  return request.method == "POST" && request.path == "/api/upload";
}

UploadReceiver::UploadReceiver(ClientHandler& handler, uint64_t id) : handler_(handler), id_(id) {}

UploadReceiver::~UploadReceiver() {
  if (file_) {
    file_->abort();  // a no-op once the file was finished
  }
}

void UploadReceiver::start(net::HttpRequest&& head, size_t body_length) {
  body_length_ = body_length;
  max_file_bytes_ = handler_.context().server.config().max_upload_bytes;
  auto expect = head.header("expect");
  expect_continue_ = expect && net::detail::equals_ignore_case(*expect, "100-continue");
  auto content_type = head.header("content-type");
  if (auto boundary = content_type ? net::multipart_boundary(*content_type) : std::nullopt) {
    reader_.emplace(*boundary);
  }
  std::string token = bearer_token(head);
  if (token.empty()) {
    reject(error_response(401, "unauthenticated", "missing or invalid token"));
    return;
  }

  Server* server = &handler_.context().server;
  int loop = handler_.context().loop.index();
  uint64_t conn = handler_.connection().id();
  uint64_t id = id_;
  // The body waits in the socket until the token is accepted.
  handler_.connection().pause_reading();
  server->store().read([server, loop, conn, id, hash = token_hash(token)](store::Store& store) {
    std::optional<int64_t> user;
    bool store_failed = false;
    try {
      user = store.find_token(hash);
    } catch (const store::StoreError& e) {
      server->metrics().store_errors.fetch_add(1, std::memory_order_relaxed);
      net::log(net::LogLevel::kError, "conn ", conn,
               " POST /api/upload: token lookup failed: ", e.what());
      store_failed = true;
    }
    post_to_handler(*server, loop, conn, [id, user, store_failed](ClientHandler& handler) {
      handler.with_upload(
          id, [&](UploadReceiver& upload) { upload.on_authorized(user, store_failed); });
    });
  });
}

void UploadReceiver::on_authorized(std::optional<int64_t> user, bool store_failed) {
  if (state_ != State::kAuthorizing) {
    return;
  }
  if (store_failed) {
    reject(error_response(503, "unavailable", "the store is unavailable; retry later"));
    return;
  }
  if (!user) {
    reject(error_response(401, "unauthenticated", "missing or invalid token"));
    return;
  }
  user_ = *user;
  // Saturates instead of wrapping for a --max-upload near SIZE_MAX.
  size_t max_body = max_file_bytes_ + std::min(kUploadFramingBytes, SIZE_MAX - max_file_bytes_);
  if (body_length_ > max_body) {
    reject(error_response(413, "too_large",
                          "the request body of " + std::to_string(body_length_) +
                              " bytes is over the limit of " + std::to_string(max_body) +
                              " bytes: a file of up to " + std::to_string(max_file_bytes_) +
                              " bytes plus " + std::to_string(kUploadFramingBytes) +
                              " bytes of form data"));
    return;
  }
  if (!reader_) {
    reject(bad_request("upload must be multipart/form-data with a boundary"));
    return;
  }

  Server& server = handler_.context().server;
  Server* server_ptr = &server;
  int loop = handler_.context().loop.index();
  uint64_t conn = handler_.connection().id();
  uint64_t id = id_;
  file_ =
      UploadFile::create(server.store(), server.config().media_dir, log_id(), kResumeBytes,
                         [server_ptr, loop, conn, id] {
                           post_to_handler(*server_ptr, loop, conn, [id](ClientHandler& h) {
                             h.with_upload(id, [](UploadReceiver& upload) { upload.on_wake(); });
                           });
                         });
  state_ = State::kReceiving;
  if (expect_continue_ && body_length_ > 0) {
    (void)handler_.connection().send(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  if (body_length_ == 0) {
    end_of_body();
    return;
  }
  handler_.connection().resume_reading();
}

size_t UploadReceiver::on_body(std::string_view data) {
  if (state_ != State::kReceiving) {
    return 0;
  }
  size_t take = std::min(data.size(), body_length_ - body_received_);
  body_received_ += take;
  if (!reader_->feed(data.substr(0, take), *this)) {
    reject(bad_request("malformed multipart/form-data body"));
    return take;
  }
  if (over_limit_) {
    reject(error_response(
        413, "too_large",
        "the file exceeds the upload limit of " + std::to_string(max_file_bytes_) + " bytes"));
    return take;
  }
  if (file_->failed()) {
    reject(error_response(500, "internal", "could not store the file"));
    return take;
  }
  if (body_received_ == body_length_) {
    end_of_body();
    return take;
  }
  apply_back_pressure();
  return take;
}

void UploadReceiver::apply_back_pressure() {
  if (file_->queued_bytes() > kMaxQueuedBytes && file_->request_wake()) {
    handler_.connection().pause_reading();
  }
}

void UploadReceiver::on_wake() {
  if (state_ != State::kReceiving) {
    return;  // while storing, on_stored() reports a failed write
  }
  if (file_->failed()) {
    reject(error_response(500, "internal", "could not store the file"));
    return;
  }
  handler_.connection().resume_reading();
}

void UploadReceiver::end_of_body() {
  if (!reader_->finish(*this)) {
    reject(bad_request("malformed multipart/form-data body"));
    return;
  }
  if (!file_part_seen_) {
    reject(bad_request("missing form field \"file\""));
    return;
  }
  state_ = State::kStoring;
  // One request at a time: a pipelined request waits until the response is sent.
  handler_.connection().pause_reading();

  Server* server = &handler_.context().server;
  int loop = handler_.context().loop.index();
  uint64_t conn = handler_.connection().id();
  uint64_t id = id_;
  file_->finish([server, loop, conn, id](const StoredUpload& stored) {
    post_to_handler(*server, loop, conn, [id, stored](ClientHandler& handler) {
      handler.with_upload(id, [&](UploadReceiver& upload) { upload.on_stored(stored); });
    });
  });
}

void UploadReceiver::on_stored(const StoredUpload& stored) {
  if (state_ != State::kStoring) {
    return;
  }
  state_ = State::kDone;
  if (!stored.ok) {
    handler_.finish_request(error_response(500, "internal", "could not store the file"));
    return;
  }
  handler_.finish_request(json_response(201, json_object([&](JsonWriter& w) {
                                          w.Key("url");
                                          write_string(w, "/media/" + stored.name);
                                          w.Key("size");
                                          w.Uint64(stored.size);
                                          w.Key("mime");
                                          write_string(w, stored.type.mime);
                                        })));
}

void UploadReceiver::on_connection_closed() {
  if (file_) {
    file_->abort();
  }
}

void UploadReceiver::reject(const net::HttpResponse& response) {
  state_ = State::kDone;
  if (file_) {
    file_->abort();
  }
  // Unread body bytes would be taken for the next request, so the connection closes unless
  // the whole body has been read.
  bool body_unread = body_received_ < body_length_;
  handler_.finish_request(response, body_unread);
}

void UploadReceiver::on_part_begin(const net::MultipartPart& part) {
  in_file_part_ = !file_part_seen_ && part.name == "file";
  file_part_seen_ = file_part_seen_ || in_file_part_;
}

void UploadReceiver::on_part_data(std::string_view data) {
  if (!in_file_part_ || over_limit_) {
    return;
  }
  file_bytes_ += data.size();
  if (file_bytes_ > max_file_bytes_) {
    over_limit_ = true;
    return;
  }
  file_->append(data);
}

void UploadReceiver::on_part_end() {
  in_file_part_ = false;
}

std::string UploadReceiver::log_id() const {
  return "conn " + std::to_string(handler_.connection().id()) + " user " + std::to_string(user_);
}

}  // namespace parley::im
