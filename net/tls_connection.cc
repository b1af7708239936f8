// The TLS half of Connection: the handshake, decrypting reads and gathered encrypted writes.
// A plain connection never calls into this file.

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/connection.h"
#include "net/log.h"
#include "net/tcp_server.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace parley::net {

namespace {
// The maximum plaintext of one TLS record (RFC 8446 section 5.1, RFC 5246 section 6.2.1).
constexpr size_t kTlsRecordBytes = 16 * 1024;
// The first byte of a TLS record that carries a handshake message, such as a ClientHello.
constexpr unsigned char kTlsHandshakeRecordType = 0x16;

// Handshake failures are logged at info level, at most kFailureLogsPerWindow per window on
// each loop thread, because a scanner or a client with the wrong settings can fail thousands a
// second. The count of the ones left out is logged with the first failure of a later window.
constexpr int64_t kFailureLogWindowMs = 10000;
constexpr int kFailureLogsPerWindow = 20;

struct FailureLogLimit {
  int64_t window_start_ms = -kFailureLogWindowMs;
  int logged = 0;
  uint64_t dropped = 0;
};
thread_local FailureLogLimit t_failure_log;

// Small queued chunks are copied here so that one SSL_write covers a whole record.
thread_local char t_gather_buffer[kTlsRecordBytes];

template <typename... Args>
void log_tls_failure(int64_t now_ms, const Args&... args) {
  if (!log_enabled(LogLevel::kInfo)) {
    return;
  }
  FailureLogLimit& limit = t_failure_log;
  if (now_ms - limit.window_start_ms >= kFailureLogWindowMs) {
    if (limit.dropped > 0) {
      log(LogLevel::kInfo, limit.dropped, " TLS handshake failures on this loop were not logged",
          " (more than ", kFailureLogsPerWindow, " in ", kFailureLogWindowMs / 1000, " s)");
    }
    limit = FailureLogLimit{now_ms, 0, 0};
  }
  if (limit.logged >= kFailureLogsPerWindow) {
    ++limit.dropped;
    return;
  }
  ++limit.logged;
  log(LogLevel::kInfo, args...);
}

constexpr std::string_view kPlainHttpBody =
    "This port accepts only TLS: use https:// for HTTP and wss:// for the chat WebSocket.\n";
}  // namespace

void Connection::start_tls(const TlsContext& context) {
  try {
    tls_ = std::make_unique<TlsStream>(context, fd_);
  } catch (const std::exception& e) {
    log(LogLevel::kWarn, "conn ", id_, " ", peer_address(), ": cannot start TLS: ", e.what());
    close("TLS session not created");
    return;
  }
  int64_t timeout_ms = context.handshake_timeout_ms();
  tls_->handshake_timer = loop_.run_after(timeout_ms, [server = server_, id = id_, timeout_ms] {
    if (Connection* conn = server->find(id)) {
      conn->on_tls_handshake_timeout(timeout_ms);
    }
  });
}

void Connection::on_tls_handshake_timeout(int64_t timeout_ms) {
  if (!tls_ || tls_->established()) {
    return;
  }
  tls_->handshake_timer = 0;  // it has fired, so close() must not cancel it
  log_tls_failure(loop_.now_ms(), "conn ", id_, " ", peer_address(),
                  " TLS handshake timed out after ", timeout_ms, " ms");
  close("TLS handshake timed out");
}

void Connection::on_tls_io(uint32_t events) {
  bool readable = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  bool writable = (events & EPOLLOUT) != 0;
  if (!tls_->established()) {
    continue_tls_handshake();
    if (closed() || !tls_ || !tls_->established()) {
      return;  // still in the handshake, or closed, or replying to plain HTTP without TLS
    }
    // The client's first request may have arrived with its Finished message, and the handler
    // may have queued output: try both now instead of waiting for another pass.
    readable = true;
    writable = true;
  }
  if (readable || (writable && tls_->read_wants_write)) {
    read_tls();
    if (closed()) {
      return;
    }
  }
  if (writable || (readable && tls_->write_wants_read)) {
    flush_tls();
  }
}

void Connection::continue_tls_handshake() {
  if (!tls_->first_byte_checked && !check_first_tls_byte()) {
    return;
  }
  TlsStatus status = tls_->handshake();
  switch (status) {
    case TlsStatus::kOk:
      loop_.cancel_timer(tls_->handshake_timer);
      tls_->handshake_timer = 0;
      tls_->handshake_wants_write = false;
      log(LogLevel::kDebug, "conn ", id_, " ", peer_address(),
          " TLS established: ", tls_->description());
      update_interest();
      return;
    case TlsStatus::kWantRead:
    case TlsStatus::kWantWrite:
      tls_->handshake_wants_write = status == TlsStatus::kWantWrite;
      update_interest();
      return;
    case TlsStatus::kClosed:
    case TlsStatus::kError: {
      std::string reason = status == TlsStatus::kClosed ? "peer sent close_notify" : tls_->error();
      log_tls_failure(loop_.now_ms(), "conn ", id_, " ", peer_address(),
                      " TLS handshake failed: ", reason);
      close("TLS handshake failed: " + reason);
      return;
    }
  }
}

// Peeks at the first byte: a TLS client starts with a handshake record, an HTTP client with an
// upper-case method name. Returns true when the handshake may go on.
bool Connection::check_first_tls_byte() {
  unsigned char first = 0;
  ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      close(std::strerror(errno));
    }
    return false;
  }
  if (n == 0) {
    close("peer closed before the TLS handshake");
    return false;
  }
  tls_->first_byte_checked = true;
  if (first != kTlsHandshakeRecordType && first >= 'A' && first <= 'Z') {
    reject_plain_http();
    return false;
  }
  return true;  // a ClientHello, or bytes that OpenSSL rejects with its own reason
}

// Replies to a plain HTTP request on the TLS port with a readable 400 and closes. Nothing was
// sent encrypted yet, so the connection drops TLS and the reply goes out as plain text.
void Connection::reject_plain_http() {
  log_tls_failure(loop_.now_ms(), "conn ", id_, " ", peer_address(),
                  " sent plain HTTP to the TLS port; replied 400");
  loop_.cancel_timer(tls_->handshake_timer);
  tls_.reset();
  std::string response =
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
      std::to_string(kPlainHttpBody.size()) + "\r\nConnection: close\r\n\r\n";
  response.append(kPlainHttpBody);
  (void)send(std::move(response));
  // The request is read and dropped while the reply drains, so closing sends no reset.
  close_after_flush();
}

void Connection::read_tls() {
  tls_->read_wants_write = false;
  char* buffer = read_buffer();
  size_t length = 0;
  TlsStatus status = TlsStatus::kOk;
  // Each read has room for a whole record, so OpenSSL never keeps part of one back: what is
  // left unread stays in the socket, where level-triggered epoll reports it again.
  while (kReadBufferBytes - length >= kTlsRecordBytes) {
    size_t count = 0;
    status = tls_->read(buffer + length, kReadBufferBytes - length, count);
    if (status != TlsStatus::kOk) {
      break;
    }
    length += count;
  }
  if (length > 0) {
    last_read_ms_ = loop_.now_ms();
    if (state_ == State::kOpen) {
      deliver(buffer, length);
      if (closed()) {
        return;
      }
    }
  }
  switch (status) {
    case TlsStatus::kOk:
      if (!reading_paused_ && tls_->has_pending()) {
        schedule_tls_read();
      }
      break;
    case TlsStatus::kWantRead:
      break;
    case TlsStatus::kWantWrite:
      // OpenSSL must finish sending something before it reads on, which its API allows.
      // NOTE: no test reaches this. In the key update unit test OpenSSL 3.0 sends its
      // KeyUpdate reply with the next SSL_write, and ssl3_send_alert queues an alert (such as
      // no_renegotiation) behind pending output instead of failing the read.
      tls_->read_wants_write = true;
      break;
    case TlsStatus::kClosed:
      close("peer closed");
      return;
    case TlsStatus::kError:
      close(tls_->error());
      return;
  }
  update_interest();
}

void Connection::schedule_tls_read() {
  loop_.at_end_of_pass([server = server_, id = id_] {
    Connection* conn = server->find(id);
    if (conn != nullptr && conn->tls_ && conn->tls_->established() && !conn->reading_paused_) {
      conn->read_tls();
    }
  });
}

void Connection::flush_tls() {
  // A read that waits to write goes first: EPOLLOUT retries it, then flushes.
  if (tls_->established() && !tls_->read_wants_write) {
    tls_->write_wants_read = false;
    std::string_view pending;  // the bytes at the front of output_, perhaps gathered
    while (!output_.empty()) {
      if (pending.empty()) {
        pending = next_tls_write();
      }
      size_t sent = 0;
      TlsStatus status = tls_->write(pending.data(), pending.size(), sent);
      if (status == TlsStatus::kOk) {
        consume_output(sent);
        pending.remove_prefix(sent);
        continue;
      }
      if (status == TlsStatus::kWantWrite) {
        break;
      }
      if (status == TlsStatus::kWantRead) {
        tls_->write_wants_read = true;
        break;
      }
      close(status == TlsStatus::kClosed ? std::string("peer sent close_notify") : tls_->error());
      return;
    }
  }
  update_interest();
  if (output_.empty() && state_ == State::kDraining && !write_shut_) {
    // As on a plain connection: half-close and wait for the peer's EOF (see flush()).
    write_shut_ = true;
    tls_->send_close_notify();
    ::shutdown(fd_, SHUT_WR);
  }
}

// Returns the next bytes for SSL_write: the front chunk itself when it fills a record or is
// alone, or else the front chunks copied into one record's worth of t_gather_buffer. Either
// way the view starts at the front of output_ and is at least as long as the last one offered
// for the same bytes, which is what OpenSSL requires of a retry after kWantWrite.
std::string_view Connection::next_tls_write() {
  const Chunk& front = output_.front();
  std::string_view first(front.bytes->data() + front.offset, front.bytes->size() - front.offset);
  if (first.size() >= kTlsRecordBytes || output_.size() == 1) {
    return first;
  }
  size_t length = 0;
  for (const Chunk& chunk : output_) {
    size_t take = std::min(chunk.bytes->size() - chunk.offset, kTlsRecordBytes - length);
    std::memcpy(t_gather_buffer + length, chunk.bytes->data() + chunk.offset, take);
    length += take;
    if (length == kTlsRecordBytes) {
      break;
    }
  }
  return {t_gather_buffer, length};
}

uint32_t Connection::tls_events() const {
  const TlsStream& tls = *tls_;
  // An operation stalled on one direction watches only that one: watching the other as well
  // would wake the loop again and again (epoll is level-triggered) while nothing can proceed.
  if (!tls.established()) {
    return tls.handshake_wants_write ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP);
  }
  if (tls.read_wants_write) {
    return EPOLLOUT;
  }
  // NOTE: a write that waits to read keeps reading on even while the handler paused reading,
  // so input_ can grow. The SSL_write manual page names renegotiation as the cause, and the
  // context refuses renegotiation.
  bool need_read = !reading_paused_ || tls.write_wants_read;
  bool need_write = !output_.empty() && !tls.write_wants_read;
  return (need_read ? (EPOLLIN | EPOLLRDHUP) : 0u) | (need_write ? EPOLLOUT : 0u);
}

}  // namespace parley::net
