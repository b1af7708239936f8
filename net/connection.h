#pragma once
// A non-blocking TCP connection owned by one loop.
//
// Ownership and threads: a Connection is created, used and destroyed on its loop thread only;
// other threads reach it by posting a task to that loop and looking it up by id in the loop's
// TcpServer. The TcpServer owns it; after close() the object stays alive until the end of the
// current loop pass, so pointers held during the pass remain valid (check closed()).
//
// Reading: bytes are read into a buffer shared by the whole loop and handed to the handler
// without copying; only bytes the handler leaves unconsumed are copied into the connection's
// own input buffer. So an idle connection holds no read buffer.
//
// Writing: send() queues bytes; the queue is written with one writev at the end of the loop
// pass (or when the socket becomes writable again), so everything queued for one connection in
// one pass costs one system call. Above the high-water mark send() queues nothing and reports
// it, so a reader that stops reading cannot grow memory without bound.
//
// TLS: a connection accepted by a TcpServer with a TlsContext speaks TLS from its first byte.
// The handshake runs on the loop thread, driven by epoll readiness, and must finish within the
// context's handshake timeout. The handler sees only decrypted bytes, still from the shared
// read buffer. Queued output is gathered into records of up to 16 KiB, so many small frames
// cost one SSL_write, and the high-water mark counts plaintext bytes not yet sent. A plain
// connection pays one branch per read, flush and interest update for this, nothing per byte.
// The TLS half of this class is in tls_connection.cc.

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/event_loop.h"

namespace parley::net {

class TlsContext;
class TlsStream;

// Bytes encoded once and queued on any number of connections of one loop or several.
using SharedBytes = std::shared_ptr<const std::string>;

class Connection;

// The protocol spoken on a connection (HTTP, then perhaps WebSocket). Loop thread only.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Receives bytes read from the socket, preceded by any bytes left unconsumed by earlier
  // calls. Returns how many bytes from the front were consumed; the rest are kept and offered
  // again with the next bytes. `data` is writable so protocols can transform it in place
  // (WebSocket unmasking). It stays valid only during the call.
  virtual size_t on_data(Connection& conn, char* data, size_t len) = 0;
  // Called once when the connection closes, from either side, before it is destroyed.
  virtual void on_closed(Connection& conn) = 0;
  // Called at the end of a loop pass once queued output has fallen to the mark that
  // Connection::notify_when_drained() was given. Does nothing unless overridden.
  virtual void on_output_drained(Connection& /*conn*/) {}
};

enum class SendStatus {
  kQueued,         // accepted; it will be written
  kOverHighWater,  // rejected: the output queue is above the high-water mark
  kClosed,         // rejected: the connection is closed or closing
};

class Connection final : public IoHandler {
 public:
  // Size of the per-thread read buffer: the most bytes one read hands to the handler.
  static constexpr size_t kReadBufferBytes = 64 * 1024;

  Connection(EventLoop& loop, int fd, uint64_t id);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_handler(std::unique_ptr<ConnectionHandler> handler);
  ConnectionHandler* handler() const { return handler_.get(); }

  [[nodiscard]] SendStatus send(std::string bytes);
  [[nodiscard]] SendStatus send(SharedBytes bytes);
  // Queues a copy of `head` followed by `body`, appended to the connection's last queued
  // buffer when that one is its own, so many small messages in one pass cost no allocation
  // each and leave in one write. For a frame header and its payload.
  [[nodiscard]] SendStatus send_copy(std::string_view head, std::string_view body);

  // Stops delivering input, writes everything queued, half-closes, and closes when the peer
  // closes its side or after `linger_ms`, whichever comes first.
  void close_after_flush(int64_t linger_ms = 5000);
  // Closes after `delay_ms` unless it is closed earlier; reading and writing go on meanwhile.
  void close_later(int64_t delay_ms, std::string_view reason);
  // Closes at once; queued output is dropped. `reason` is logged at debug level.
  void close(std::string_view reason);

  // Stops reading from the socket, for a handler that waits for an asynchronous answer before
  // it can take more input (one HTTP request at a time). Bytes already buffered stay buffered.
  void pause_reading();
  // Reads again, and offers any buffered input to the handler at the end of the pass.
  void resume_reading();

  // Asks for one ConnectionHandler::on_output_drained() call once at most `bytes` of output
  // are queued, at the end of this pass if that is already so. A handler that streams a large
  // body sends the next piece from there, so only a bounded part of the body waits in memory.
  void notify_when_drained(size_t bytes);

  void set_high_water_mark(size_t bytes) { high_water_mark_ = bytes; }
  size_t queued_bytes() const { return queued_bytes_; }
  bool closed() const { return state_ == State::kClosed; }
  bool closing() const { return state_ != State::kOpen; }
  uint64_t id() const { return id_; }
  int fd() const { return fd_; }
  EventLoop& loop() const { return loop_; }
  // "HOST:PORT" of the peer, looked up when asked (logs, rate limits) rather than stored, so
  // an idle connection does not carry it; "?" once closed.
  std::string peer_address() const;
  // Monotonic ms of the last byte received; used by idle sweeps.
  int64_t last_read_ms() const { return last_read_ms_; }

  // True while the connection speaks TLS.
  bool uses_tls() const { return tls_ != nullptr; }

  // Called by TcpServer when the connection is registered; with `tls` the connection speaks
  // TLS. It may close the connection at once (if OpenSSL cannot allocate the session), so the
  // caller checks closed(). Loop thread only.
  void start(class TcpServer* server, const TlsContext* tls = nullptr);
  void on_io(uint32_t events) override;

 private:
  enum class State { kOpen, kDraining, kClosed };
  struct Chunk {
    SharedBytes bytes;
    size_t offset = 0;
    // The bytes were allocated here for send_copy() and are shared with no one, so more may
    // be appended to them while they are the last chunk.
    bool appendable = false;
  };

  // The read buffer of the calling loop thread, kReadBufferBytes long.
  static char* read_buffer();

  void handle_readable();
  void deliver(char* data, size_t len);
  void schedule_flush();
  void flush();
  // Drops `written` bytes from the front of the output queue.
  void consume_output(size_t written);
  void update_interest();
  void redeliver_buffered();
  void check_drained();
  SendStatus enqueue(SharedBytes bytes);

  // TLS (tls_connection.cc).
  void start_tls(const TlsContext& context);
  void on_tls_io(uint32_t events);
  void continue_tls_handshake();
  bool check_first_tls_byte();
  void reject_plain_http();
  void on_tls_handshake_timeout(int64_t timeout_ms);
  void read_tls();
  void schedule_tls_read();
  void flush_tls();
  std::string_view next_tls_write();
  uint32_t tls_events() const;

  // Ordered by size so the object packs without padding: every idle connection pays for it.
  EventLoop& loop_;
  TcpServer* server_ = nullptr;
  std::unique_ptr<ConnectionHandler> handler_;
  std::unique_ptr<TlsStream> tls_;  // null on a plain connection
  uint64_t id_;
  std::string input_;  // unconsumed bytes only; empty (and released) while idle
  // Queued output, oldest first; its memory is released whenever it empties, so only a
  // connection with data backed up holds an output buffer.
  std::vector<Chunk> output_;
  size_t queued_bytes_ = 0;
  size_t high_water_mark_ = 64u << 20;
  size_t drain_mark_ = 0;
  int64_t last_read_ms_ = 0;
  TimerId linger_timer_ = 0;
  int fd_;
  uint32_t registered_events_ = 0;
  State state_ = State::kOpen;
  bool flush_scheduled_ = false;
  bool want_write_ = false;  // EPOLLOUT registered
  bool write_shut_ = false;  // shutdown(SHUT_WR) done while draining
  bool reading_paused_ = false;
  bool drain_notice_requested_ = false;  // notify_when_drained() awaits its call
};

}  // namespace parley::net
