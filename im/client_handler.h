#pragma once
// The protocol handler of one client connection: HTTP/1.1 requests (API, uploads, media,
// static files) until a request to /chat upgrades it to a WebSocket chat session.
//
// Ownership and threads: owned by its net::Connection, used only on that connection's loop.
// Asynchronous work (store jobs) answers by posting to the loop and looking the connection up
// by id, so a connection closed meanwhile is simply not found.

#include <cstdint>
#include <memory>
#include <string>

#include "im/server.h"
#include "net/connection.h"
#include "net/http_message.h"
#include "net/http_parser.h"

namespace parley::im {

class ChatSession;

class ClientHandler final : public net::ConnectionHandler {
 public:
  ClientHandler(LoopContext& ctx, net::Connection& conn);
  ~ClientHandler() override;

  size_t on_data(net::Connection& conn, char* data, size_t len) override;
  void on_closed(net::Connection& conn) override;

  // Sends the answer to the request in flight and reads the next one. Loop thread only.
  void finish_request(const net::HttpResponse& response);
  // Switches to WebSocket after the token was checked, sending `handshake_response` (the
  // complete 101 response). Loop thread only.
  void upgrade(const store::User& user, const std::string& token_hash,
               const std::string& handshake_response);

  ChatSession* chat() const { return chat_.get(); }
  LoopContext& context() const { return ctx_; }
  net::Connection& connection() const { return conn_; }
  int64_t last_activity_ms() const;
  // Returns whether a request head has been arriving for longer than the handshake timeout.
  bool request_head_overdue(int64_t now_ms) const;

 private:
  size_t on_http_data(char* data, size_t len);
  void dispatch(net::HttpRequest&& request);
  void handle_upgrade(net::HttpRequest&& request);

  LoopContext& ctx_;
  net::Connection& conn_;
  net::HttpLimits limits_;
  bool request_in_flight_ = false;
  bool keep_alive_ = true;
  int64_t head_started_ms_ = -1;  // when the incomplete request head began; -1 when none
  std::unique_ptr<ChatSession> chat_;
};

// Gives a newly accepted connection its handler. Loop thread.
void on_accept(LoopContext& ctx, net::Connection& conn);
// Starts the loop's periodic idle sweep. Loop thread.
void start_sweeps(LoopContext& ctx);

// Posts `response` to connection `conn_id` on loop `loop_index`. Any thread.
void respond(Server& server, int loop_index, uint64_t conn_id, net::HttpResponse response);

// Builds a JSON response; an error response carries {"error":{"code","message"}}.
net::HttpResponse json_response(int status, std::string body);
net::HttpResponse error_response(int status, std::string_view code, std::string_view message);

}  // namespace parley::im
