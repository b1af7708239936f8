#pragma once
// The protocol handler of one client connection: HTTP/1.1 requests (API, uploads, media,
// static files) until a request to /chat upgrades it to a WebSocket chat session.
//
// Ownership and threads: owned by its net::Connection, used only on that connection's loop.
// Asynchronous work (store jobs) answers by posting to the loop and looking the connection up
// by id, so a connection closed meanwhile is simply not found.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "im/server.h"
#include "net/connection.h"
#include "net/http_message.h"
#include "net/http_parser.h"
#include "ws/permessage_deflate.h"

namespace parley::im {

class ChatSession;
class MediaSender;
class UploadReceiver;
struct MediaFile;

class ClientHandler final : public net::ConnectionHandler {
 public:
  ClientHandler(LoopContext& ctx, net::Connection& conn);
  ~ClientHandler() override;

  size_t on_data(net::Connection& conn, char* data, size_t len) override;
  void on_closed(net::Connection& conn) override;
  void on_output_drained(net::Connection& conn) override;

  // Sends the response to the request in flight and reads the next one, or closes the
  // connection after the response with `close_connection`. The response to HEAD goes without
  // its body. Loop thread only.
  void finish_request(const net::HttpResponse& response, bool close_connection = false);
  // Responds with `head` and the content of `file` (only the head for HEAD), which is sent in
  // pieces as the connection drains. Loop thread only.
  void send_file(const net::HttpResponse& head, std::shared_ptr<MediaFile> file);
  // Passes a piece read by a MediaSender job to the sender of `file`, unless the response has
  // ended. Loop thread only.
  void on_media_piece(const MediaFile* file, std::string bytes, bool ok);
  // Runs `step` on the upload in flight if its id is `upload_id`, then drops the upload once it
  // has responded. Loop thread only.
  void with_upload(uint64_t upload_id, const std::function<void(UploadReceiver&)>& step);
  // Switches to WebSocket after the token was checked, sending `handshake_response` (the
  // complete 101 response). `deflate` holds the permessage-deflate parameters that response
  // agreed to, if any. Loop thread only.
  void upgrade(const store::User& user, const std::string& token_hash,
               const std::string& handshake_response,
               const std::optional<ws::DeflateParams>& deflate);

  ChatSession* chat() const { return chat_.get(); }
  LoopContext& context() const { return ctx_; }
  net::Connection& connection() const { return conn_; }
  // Returns the monotonic ms of the last byte received or, during a file response, of the
  // last piece the client's reading made room for. The idle sweep measures silence from here.
  int64_t last_activity_ms() const;
  // Returns whether a request head has been arriving for longer than the handshake timeout.
  bool request_head_overdue(int64_t now_ms) const;

  // True while a request, an upload or a download is in progress, or reading waits for the
  // client to read responses.
  bool busy() const { return request_in_flight_ || upload_ || download_ || waiting_for_drain_; }

 private:
  size_t on_http_data(char* data, size_t len);
  // Parses requests from `pending` and dispatches them. Returns the bytes consumed.
  size_t parse_requests(std::string_view pending);
  void start_upload(net::HttpRequest&& head, size_t body_length);
  void dispatch(net::HttpRequest&& request);
  void serve_static(const net::HttpRequest& request);
  void handle_upgrade(net::HttpRequest&& request);
  // Ends the request in flight after its response was queued: reads the next request, or
  // closes after the response unless the connection is kept alive.
  void end_request();

  LoopContext& ctx_;
  net::Connection& conn_;
  net::HttpLimits limits_;
  bool request_in_flight_ = false;
  bool keep_alive_ = true;
  int64_t head_started_ms_ = -1;  // when the incomplete request head began; -1 when none
  std::unique_ptr<ChatSession> chat_;

  bool head_request_ = false;  // the request in flight is HEAD: responses carry no body
  uint64_t next_upload_id_ = 1;
  std::unique_ptr<UploadReceiver> upload_;  // a POST /api/upload in flight
  std::unique_ptr<MediaSender> download_;   // a file response being sent
  bool waiting_for_drain_ = false;  // reading paused until the client reads queued responses
};

// Gives a newly accepted connection its handler. Loop thread.
void on_accept(LoopContext& ctx, net::Connection& conn);
// Starts the loop's periodic idle sweep. Loop thread.
void start_sweeps(LoopContext& ctx);

// Posts `response` to connection `conn_id` on loop `loop_index`. Any thread.
void respond(Server& server, int loop_index, uint64_t conn_id, net::HttpResponse response);
// Runs `task` with the handler of connection `conn_id` on loop `loop_index`, unless the
// connection has closed by then. Any thread.
void post_to_handler(Server& server, int loop_index, uint64_t conn_id,
                     std::function<void(ClientHandler&)> task);

// Returns the token of an "Authorization: Bearer TOKEN" header, or an empty string.
std::string bearer_token(const net::HttpRequest& request);

// Builds a JSON response; an error response carries {"error":{"code","message"}}.
net::HttpResponse json_response(int status, std::string body);
net::HttpResponse error_response(int status, std::string_view code, std::string_view message);

}  // namespace parley::im
