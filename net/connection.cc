#include "net/connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/log.h"
#include "net/tcp_server.h"
#include "net/tls_stream.h"

namespace parley::net {

namespace {
constexpr int kMaxIovecs = 64;
// send_copy() starts a new buffer when the last one would grow past this, so a connection that
// sends much in one pass frees its memory piece by piece as the socket takes it.
constexpr size_t kAppendableChunkBytes = 64 * 1024;
// The first capacity of a send_copy() buffer: room for a few small frames before it regrows.
constexpr size_t kFirstAppendReserve = 512;

// One read buffer per loop thread: the handler parses straight from it, and only leftovers
// are copied into the connection, so idle connections own no input memory.
thread_local char t_read_buffer[Connection::kReadBufferBytes];

std::string format_peer(const sockaddr_storage& peer) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    std::string text(host);
    text.append(":").append(std::to_string(port));
    return text;
  }
  if (peer.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    std::string text("[");
    text.append(host).append("]:").append(std::to_string(port));
    return text;
  }
  return host;
}
}  // namespace

char* Connection::read_buffer() {
  return t_read_buffer;
}

Connection::Connection(EventLoop& loop, int fd, uint64_t id)
    : loop_(loop), id_(id), last_read_ms_(loop.now_ms()), fd_(fd) {}

std::string Connection::peer_address() const {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
    return "?";
  }
  return format_peer(peer);
}

Connection::~Connection() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void Connection::start(TcpServer* server, const TlsContext* tls) {
  server_ = server;
  registered_events_ = EPOLLIN | EPOLLRDHUP;
  loop_.add(fd_, registered_events_, this);
  if (tls != nullptr) {
    start_tls(*tls);
  }
}

void Connection::set_handler(std::unique_ptr<ConnectionHandler> handler) {
  handler_ = std::move(handler);
}

void Connection::on_io(uint32_t events) {
  if (closed()) {
    return;  // a stale event from the same epoll batch as the close
  }
  if (tls_) {
    on_tls_io(events);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    handle_readable();
  }
  if (!closed() && (events & EPOLLOUT)) {
    flush();
  }
}

void Connection::handle_readable() {
  ssize_t n = ::read(fd_, t_read_buffer, kReadBufferBytes);
  if (n > 0) {
    last_read_ms_ = loop_.now_ms();
    if (state_ == State::kOpen) {
      deliver(t_read_buffer, static_cast<size_t>(n));
    }
    return;
  }
  if (n == 0) {
    close("peer closed");
    return;
  }
  if (errno == EAGAIN || errno == EINTR) {
    return;
  }
  // Resets and similar peer errors are routine on the internet: debug, not error.
  close(std::strerror(errno));
}

void Connection::deliver(char* data, size_t len) {
  if (!handler_) {
    close("no handler");
    return;
  }
  if (reading_paused_) {
    input_.append(data, len);  // an event from the same epoll batch as the pause
    return;
  }
  if (input_.empty()) {
    size_t used = handler_->on_data(*this, data, len);
    if (!closing() && used < len) {
      input_.assign(data + used, len - used);
    }
    return;
  }
  input_.append(data, len);
  size_t used = handler_->on_data(*this, input_.data(), input_.size());
  if (closed()) {
    return;
  }
  input_.erase(0, used);
  if (input_.empty()) {
    std::string().swap(input_);  // release the memory of a connection going idle
  }
}

SendStatus Connection::send(std::string bytes) {
  return enqueue(std::make_shared<const std::string>(std::move(bytes)));
}

SendStatus Connection::send(SharedBytes bytes) {
  return enqueue(std::move(bytes));
}

SendStatus Connection::send_copy(std::string_view head, std::string_view body) {
  if (state_ != State::kOpen) {
    return SendStatus::kClosed;
  }
  if (queued_bytes_ > high_water_mark_) {
    return SendStatus::kOverHighWater;
  }
  const size_t length = head.size() + body.size();
  if (length == 0) {
    return SendStatus::kQueued;
  }
  if (output_.empty() || !output_.back().appendable ||
      output_.back().bytes->size() + length > kAppendableChunkBytes) {
    auto buffer = std::make_shared<std::string>();
    buffer->reserve(std::max(length, kFirstAppendReserve));
    output_.push_back(Chunk{std::move(buffer), 0, true});
  }
  // Created non-const above and never handed out, so writing through it is allowed.
  auto& buffer = const_cast<std::string&>(*output_.back().bytes);
  buffer.append(head);
  buffer.append(body);
  queued_bytes_ += length;
  schedule_flush();
  return SendStatus::kQueued;
}

SendStatus Connection::enqueue(SharedBytes bytes) {
  if (state_ != State::kOpen) {
    return SendStatus::kClosed;
  }
  if (queued_bytes_ > high_water_mark_) {
    return SendStatus::kOverHighWater;
  }
  if (bytes->empty()) {
    return SendStatus::kQueued;
  }
  queued_bytes_ += bytes->size();
  output_.push_back(Chunk{std::move(bytes), 0});
  schedule_flush();
  return SendStatus::kQueued;
}

void Connection::schedule_flush() {
  if (flush_scheduled_ || want_write_) {
    return;  // a flush is already due at the end of this pass, or EPOLLOUT will trigger one
  }
  flush_scheduled_ = true;
  // Look the connection up again instead of capturing `this`: it may be closed and destroyed
  // by the time the end of the pass comes.
  loop_.at_end_of_pass([server = server_, id = id_] {
    if (Connection* conn = server->find(id)) {
      conn->flush_scheduled_ = false;
      conn->flush();
    }
  });
}

void Connection::flush() {
  if (tls_) {
    flush_tls();
    return;
  }
  while (!output_.empty()) {
    iovec iov[kMaxIovecs];
    int count = 0;
    for (; count < kMaxIovecs && static_cast<size_t>(count) < output_.size(); ++count) {
      const Chunk& chunk = output_[static_cast<size_t>(count)];
      iov[count].iov_base = const_cast<char*>(chunk.bytes->data()) + chunk.offset;
      iov[count].iov_len = chunk.bytes->size() - chunk.offset;
    }
    ssize_t n = ::writev(fd_, iov, count);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        break;
      }
      close(std::strerror(errno));
      return;
    }
    consume_output(static_cast<size_t>(n));
  }
  update_interest();
  if (output_.empty() && state_ == State::kDraining && !write_shut_) {
    // Half-close and wait for the peer's EOF: closing with unread input would send a reset,
    // which can destroy the last bytes we sent (a WebSocket Close frame, an HTTP error)
    // before the peer reads them.
    write_shut_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
}

void Connection::consume_output(size_t written) {
  queued_bytes_ -= written;
  size_t done = 0;  // chunks written completely
  while (written > 0) {
    Chunk& front = output_[done];
    size_t left = front.bytes->size() - front.offset;
    if (written < left) {
      front.offset += written;
      written = 0;
    } else {
      written -= left;
      ++done;
    }
  }
  if (done == output_.size()) {
    std::vector<Chunk>().swap(output_);  // idle again: hold no output memory
  } else {
    output_.erase(output_.begin(), output_.begin() + static_cast<std::ptrdiff_t>(done));
  }
  check_drained();
}

void Connection::notify_when_drained(size_t bytes) {
  drain_mark_ = bytes;
  drain_notice_requested_ = true;
  check_drained();
}

void Connection::check_drained() {
  if (!drain_notice_requested_ || queued_bytes_ > drain_mark_ || state_ != State::kOpen) {
    return;
  }
  drain_notice_requested_ = false;
  // Deferred to the end of the pass, because the handler may send more while a flush is still
  // walking the output queue.
  loop_.at_end_of_pass([server = server_, id = id_] {
    Connection* conn = server->find(id);
    if (conn != nullptr && conn->state_ == State::kOpen && conn->handler_) {
      conn->handler_->on_output_drained(*conn);
    }
  });
}

void Connection::update_interest() {
  uint32_t events = 0;
  if (tls_) {
    events = tls_events();
  } else {
    bool need_write = !output_.empty();
    events = (reading_paused_ ? 0u : (EPOLLIN | EPOLLRDHUP)) | (need_write ? EPOLLOUT : 0u);
  }
  if (events == registered_events_) {
    return;
  }
  want_write_ = (events & EPOLLOUT) != 0;
  registered_events_ = events;
  loop_.modify(fd_, events, this);
}

void Connection::pause_reading() {
  if (closed() || reading_paused_) {
    return;
  }
  reading_paused_ = true;
  update_interest();
}

void Connection::resume_reading() {
  if (closed() || !reading_paused_) {
    return;
  }
  reading_paused_ = false;
  update_interest();
  if (!input_.empty()) {
    loop_.at_end_of_pass([server = server_, id = id_] {
      if (Connection* conn = server->find(id)) {
        conn->redeliver_buffered();
      }
    });
  }
  if (tls_ && tls_->has_pending()) {
    schedule_tls_read();  // received bytes that epoll cannot report
  }
}

void Connection::redeliver_buffered() {
  if (reading_paused_ || state_ != State::kOpen || input_.empty() || !handler_) {
    return;
  }
  size_t used = handler_->on_data(*this, input_.data(), input_.size());
  if (closed()) {
    return;
  }
  input_.erase(0, used);
  if (input_.empty()) {
    std::string().swap(input_);
  }
}

void Connection::close_after_flush(int64_t linger_ms) {
  if (state_ != State::kOpen) {
    return;
  }
  state_ = State::kDraining;
  if (output_.empty() && !flush_scheduled_) {
    flush();
  }
  // A peer that never reads, or never closes its side, would keep a draining connection
  // forever; the timer bounds it.
  linger_timer_ = loop_.run_after(linger_ms, [server = server_, id = id_] {
    if (Connection* conn = server->find(id)) {
      conn->close("linger timeout while flushing");
    }
  });
}

void Connection::close_later(int64_t delay_ms, std::string_view reason) {
  loop_.run_after(delay_ms, [server = server_, id = id_, why = std::string(reason)] {
    if (Connection* conn = server->find(id)) {
      conn->close(why);
    }
  });
}

void Connection::close(std::string_view reason) {
  if (state_ == State::kClosed) {
    return;
  }
  state_ = State::kClosed;
  if (log_enabled(LogLevel::kDebug)) {
    log(LogLevel::kDebug, "conn ", id_, " ", peer_address(), " closed: ", reason);
  }
  if (linger_timer_ != 0) {
    loop_.cancel_timer(linger_timer_);
  }
  if (tls_ && tls_->handshake_timer != 0) {
    loop_.cancel_timer(tls_->handshake_timer);
  }
  loop_.remove(fd_);
  ::close(fd_);
  fd_ = -1;
  std::vector<Chunk>().swap(output_);
  queued_bytes_ = 0;
  if (handler_) {
    handler_->on_closed(*this);
  }
  if (server_ != nullptr) {
    server_->retire(*this);
  }
}

}  // namespace parley::net
