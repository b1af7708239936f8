#pragma once
// A WebSocket connection after a successful handshake: frames in, messages out, and the
// protocol's own duties (answering pings, the closing handshake of RFC 6455 §7) done here so
// the application sees only messages.
//
// Ownership and threads: a Session belongs to the ConnectionHandler of one connection and is
// used only on that connection's loop thread. It does not own the connection.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/connection.h"
#include "ws/message_reader.h"
#include "ws/permessage_deflate.h"

namespace parley::ws {

class Session;

// What the application does with messages. Loop thread only.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_text(Session& session, std::string_view text) = 0;
  virtual void on_binary(Session& session, std::string_view data) = 0;
};

struct SessionOptions {
  ReaderLimits limits;
  // How long to wait for the peer's Close after sending ours before dropping TCP (§7.1.1).
  int64_t close_timeout_ms = 3000;
  // The output queue above which sends are rejected and the connection is failed; a reader
  // this far behind catches up with sync after reconnecting instead of costing memory.
  size_t high_water_mark = 4u << 20;
};

class Session {
 public:
  Session(net::Connection& conn, SessionHandler& handler, SessionOptions options = {});

  // Turns on permessage-deflate with the parameters agreed in the handshake: RSV1 messages
  // are inflated, and send_text() and send_binary() compress messages of kMinCompressBytes or
  // more. Call it before the first on_data().
  void enable_permessage_deflate(const DeflateParams& params);

  // Feeds received bytes; returns how many were consumed (see ConnectionHandler::on_data).
  size_t on_data(char* data, size_t len);

  // Sends one unfragmented message. Sending fails if the peer does not read fast enough: above
  // the high-water mark the connection is closed at once, without a Close frame, because the
  // frame could not be queued either.
  net::SendStatus send_text(std::string_view text);
  net::SendStatus send_binary(std::string_view data);
  // Sends a frame encoded once for many sessions (see encode_frame()). It goes out as it is,
  // uncompressed even when permessage-deflate is on.
  net::SendStatus send_frame(const net::SharedBytes& frame);
  void ping(std::string_view payload = {});

  // Runs the idle check for a peer that has sent nothing for `silent_ms`. At `idle_ms` it sends
  // one Ping. At twice `idle_ms`, when no Pong or other byte came back, it starts the closing
  // handshake with 1001, and the close timeout drops TCP if the peer stays silent. Any received
  // byte ends the silence, so a Pong rearms the check.
  void check_idle(int64_t silent_ms, int64_t idle_ms);

  // Starts the closing handshake: sends Close(code, reason), ignores further data messages, and
  // closes TCP when the peer's Close arrives or after close_timeout_ms.
  void close(uint16_t code, std::string_view reason = {});

  bool closing() const { return close_sent_; }
  net::Connection& connection() const { return conn_; }

 private:
  net::SendStatus send_encoded(net::SharedBytes frame);
  // Closes the connection when `status` is kOverHighWater (the peer stopped reading) and
  // returns `status`.
  net::SendStatus check_sent(net::SendStatus status);
  net::SendStatus send_message(Opcode opcode, std::string_view payload);
  void fail(uint16_t code, std::string_view reason);
  void on_peer_close(uint16_t code);

  net::Connection& conn_;
  SessionHandler& handler_;
  SessionOptions options_;
  MessageReader reader_;
  std::unique_ptr<Deflater> deflater_;  // null unless permessage-deflate was negotiated
  bool close_sent_ = false;
  bool idle_ping_sent_ = false;  // check_idle() pinged during the current silence
};

}  // namespace parley::ws
