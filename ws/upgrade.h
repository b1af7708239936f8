#pragma once
// A connection that speaks only WebSocket: it reads the opening handshake (RFC 6455 §4.2),
// responds to it, and then hands every byte to a ws::Session. Also the subprotocol choice, which
// servers that run their own HTTP routing (parleyd's /chat) share.
//
// Ownership and threads: an UpgradeHandler is owned by its net::Connection and used only on
// that connection's loop thread. The EndpointOptions and the SessionHandlerFactory it refers to
// must outlive every connection (the server owns them). The subprotocol functions are pure and
// any thread may call them.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/connection.h"
#include "net/event_loop.h"
#include "net/http_message.h"
#include "net/http_parser.h"
#include "net/tcp_server.h"
#include "ws/session.h"

namespace parley::ws {

// Returns the subprotocols that the client offers in Sec-WebSocket-Protocol, in its order of
// preference, across every line of that header. Empty elements of the comma list are skipped.
std::vector<std::string_view> offered_subprotocols(const net::HttpRequest& request);

// Returns the first offered subprotocol that `supported` contains, or an empty string when
// none matches or none was offered. Names are compared case-sensitively, since RFC 6455 §4.1
// defines them as tokens and not as case-insensitive keywords. With an empty result the server
// omits Sec-WebSocket-Protocol from its response (§4.2.2), and the client decides whether to
// go on without a subprotocol.
std::string select_subprotocol(const net::HttpRequest& request,
                               const std::vector<std::string>& supported);

// Returns the "Sec-WebSocket-Protocol: NAME\r\n" line for build_accept_response(), or an empty
// string when `protocol` is empty.
std::string subprotocol_header(std::string_view protocol);

struct EndpointOptions {
  // Limits of the request. An upgrade request has no body, so a Content-Length above 0 gets
  // 413 by default: bytes after the head are WebSocket frames.
  net::HttpLimits http{.max_header_bytes = 16 * 1024, .max_body_bytes = 0};
  // Subprotocols this endpoint speaks; see select_subprotocol().
  std::vector<std::string> subprotocols;
  SessionOptions session;
  // permessage-deflate (RFC 7692); off by default.
  DeflateOptions deflate;
  // A connection whose handshake request is not complete this long after the accept is closed
  // without a response, so that a client trickling its request in cannot hold it open.
  int64_t handshake_timeout_ms = 10000;
  // A session that receives nothing for this long is pinged, and one that stays silent for a
  // second period is closed with 1001 (see Session::check_idle). 0 disables the check.
  int64_t idle_timeout_ms = 60000;
};

// Returns the application's handler for one session after a successful handshake.
// `subprotocol` is the one selected, or empty. A handler without per-session state (an echo)
// may be one shared instance, so that an idle session costs no allocation for it.
using SessionHandlerFactory = std::function<std::shared_ptr<SessionHandler>(
    const net::HttpRequest& request, std::string_view subprotocol)>;

// The handler of a connection that must open with a WebSocket handshake. Any request path is
// accepted. A request that fails a check of §4.2.1 gets 400, or 426 for a version other than
// 13, and the connection is closed after the response. Bytes that the client sent right behind
// its request are frames of the new session and are read at once.
class UpgradeHandler final : public net::ConnectionHandler {
 public:
  UpgradeHandler(net::Connection& conn, const EndpointOptions& options,
                 const SessionHandlerFactory& factory);

  size_t on_data(net::Connection& conn, char* data, size_t len) override;
  void on_closed(net::Connection& conn) override;

  // Closes the connection when the handshake is overdue, and runs the session's idle check
  // once it is open. The server calls it periodically, see start_timeout_sweep().
  void check_timeouts(int64_t now_ms);

  Session* session() { return session_ ? &*session_ : nullptr; }

 private:
  size_t read_handshake(char* data, size_t len);
  void reject(int status, std::string_view message);

  net::Connection& conn_;
  const EndpointOptions& options_;
  const SessionHandlerFactory& factory_;
  int64_t accepted_ms_;
  // Declared before session_, so it is destroyed after the session that refers to it.
  std::shared_ptr<SessionHandler> application_;
  // Held in place rather than behind a pointer: one allocation fewer per connection.
  std::optional<Session> session_;
};

// Starts a timer on `loop` that calls check_timeouts() on every connection of `tcp`, often
// enough to keep each timeout within a quarter of its length. Every connection of `tcp` must
// have an UpgradeHandler. Loop thread only; returns the timer for cancel_timer().
net::TimerId start_timeout_sweep(net::EventLoop& loop, net::TcpServer& tcp,
                                 const EndpointOptions& options);

}  // namespace parley::ws
