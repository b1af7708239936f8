#include "tools/bench/load_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace parley::bench {
namespace {

// Connections between connect() and an open WebSocket, per worker. Opening thousands at once
// overflows the server's accept backlog, and the dropped SYNs then wait a second for a retry.
constexpr int kMaxConnecting = 256;

// The largest message a compressed frame may inflate to. It bounds the memory that a broken
// server can make a worker allocate, so a compressed echo of a larger --size fails.
constexpr size_t kMaxInflatedBytes = size_t{64} << 20;

}  // namespace

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Worker::Worker(const Options& options, Scenario& scenario, RunControl& control, int id,
               std::vector<int> indexes)
    : rng(0x51ed2701u * (id + 1) ^ static_cast<uint64_t>(now_ns())),
      options_(options),
      scenario_(scenario),
      control_(control),
      id_(id),
      conns_(indexes.size()) {
  for (size_t i = 0; i < indexes.size(); ++i) conns_[i].index = indexes[i];
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

Worker::~Worker() {
  for (Conn& conn : conns_) {
    if (conn.fd >= 0) close(conn.fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Worker::run() {
  std::vector<epoll_event> events(1024);
  int64_t next_tick = 0;
  while (!control_.stopping.load(std::memory_order_relaxed)) {
    open_pending();
    int timeout_ms = scenario_.ticks() ? 1 : 50;
    int ready = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < ready; ++i) {
      on_event(conns_[events[i].data.u64], events[i].events);
    }
    if (scenario_.ticks()) {
      int64_t now = now_ns();
      if (now >= next_tick) {
        next_tick = now + 1'000'000;
        for (Conn& conn : conns_) {
          if (conn.state != Conn::State::kOpen) continue;
          scenario_.on_tick(*this, conn, now);
          flush(conn);
        }
      }
    }
  }
}

void Worker::open_pending() {
  while (next_pending_ < conns_.size() && connecting_ < kMaxConnecting) {
    start_connect(conns_[next_pending_++]);
  }
}

void Worker::start_connect(Conn& conn) {
  conn.state = Conn::State::kConnecting;
  conn.out.clear();
  conn.out_offset = 0;
  conn.in.clear();
  conn.fragments.clear();
  conn.fragments_compressed = false;
  conn.deflate = false;
  conn.in_flight = 0;
  conn.sending = false;
  conn.started_ns = now_ns();
  ++connecting_;

  conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (conn.fd < 0) {
    fail(conn, counters.refused, std::string("socket() failed: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options_.source_ips > 0) {
    // The port is picked at connect() time for the full 4-tuple, so each source address gets
    // its own ephemeral range.
    setsockopt(conn.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl((127u << 24) | (2u + conn.index % options_.source_ips));
    if (bind(conn.fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      fail(conn, counters.refused, std::string("bind() to a source address failed: ") +
                                       std::strerror(errno));
      return;
    }
  }
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.host.c_str(), &target.sin_addr) != 1) {
    fail(conn, counters.refused, "invalid IPv4 host " + options_.host);
    return;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = static_cast<uint64_t>(&conn - conns_.data());
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn.fd, &event);
  if (connect(conn.fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 &&
      errno != EINPROGRESS) {
    fail(conn, counters.refused, std::string("connect() failed: ") + std::strerror(errno));
  }
}

void Worker::on_event(Conn& conn, uint32_t events) {
  if (conn.fd < 0) return;
  if (conn.state == Conn::State::kConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      fail(conn, counters.refused, std::string("connect() failed: ") + std::strerror(error));
      return;
    }
    on_connected(conn);
    if (conn.fd < 0) return;
  }
  if (events & EPOLLOUT) flush(conn);
  if (conn.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    if (read_input(conn)) process_input(conn);
  }
  if (conn.fd >= 0) flush(conn);
}

void Worker::on_connected(Conn& conn) {
  if (scenario_.raw_tcp()) {
    conn.state = Conn::State::kOpen;
    --connecting_;
    counters.handshakes.fetch_add(1, std::memory_order_relaxed);
    counters.open.fetch_add(1, std::memory_order_relaxed);
    scenario_.on_open(*this, conn);
    return;
  }
  conn.state = Conn::State::kHandshake;
  std::string host = options_.host + ":" + std::to_string(options_.port);
  std::string_view offer = options_.deflate ? kDeflateOffer : std::string_view();
  conn.out = build_upgrade_request(host, scenario_.path_for(conn.index), rng, conn.key, offer);
  conn.out_offset = 0;
}

// Reads until EAGAIN. Returns false when the connection was closed.
bool Worker::read_input(Conn& conn) {
  char buffer[65536];
  for (;;) {
    ssize_t n = read(conn.fd, buffer, sizeof buffer);
    if (n > 0) {
      conn.in.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) return true;
    if (n < 0 && errno == EINTR) continue;
    // Bytes that arrived with the FIN still count.
    if (!conn.in.empty()) process_input(conn);
    if (conn.fd < 0) return false;
    std::string why = n == 0 ? "the server closed the connection"
                             : std::string("read() failed: ") + std::strerror(errno);
    if (conn.state == Conn::State::kOpen) {
      fail(conn, counters.dropped, why);
    } else {
      fail(conn, counters.rejected, why + " during the handshake");
    }
    return false;
  }
}

void Worker::process_input(Conn& conn) {
  if (conn.state == Conn::State::kHandshake) {
    size_t consumed = 0;
    std::string status;
    std::string extensions;
    HandshakeResult result =
        parse_upgrade_response(conn.in, conn.key, consumed, status, extensions);
    if (result == HandshakeResult::kIncomplete) return;
    if (result == HandshakeResult::kRejected) {
      fail(conn, counters.rejected, "upgrade rejected: " + status);
      return;
    }
    if (options_.deflate) {
      std::string problem = check_deflate_response(extensions);
      if (!problem.empty()) {
        fail(conn, counters.rejected, problem);
        return;
      }
      conn.deflate = true;
    } else if (!extensions.empty()) {
      fail(conn, counters.rejected,
           "the server accepted extensions that were not offered: " + extensions);
      return;
    }
    conn.in.erase(0, consumed);
    conn.state = Conn::State::kOpen;
    --connecting_;
    counters.handshakes.fetch_add(1, std::memory_order_relaxed);
    counters.open.fetch_add(1, std::memory_order_relaxed);
    if (measuring()) handshake_latency.record(static_cast<uint64_t>(now_ns() - conn.started_ns));
    scenario_.on_open(*this, conn);
    if (conn.fd < 0 || conn.state != Conn::State::kOpen) return;
  }
  if (conn.state != Conn::State::kOpen) return;
  if (scenario_.raw_tcp()) {
    scenario_.on_bytes(*this, conn);
  } else {
    process_frames(conn);
  }
}

void Worker::process_frames(Conn& conn) {
  size_t offset = 0;
  while (conn.fd >= 0) {
    std::string_view rest(conn.in.data() + offset, conn.in.size() - offset);
    ServerFrame frame;
    size_t consumed = 0;
    ParseResult result = parse_server_frame(rest, frame, consumed);
    if (result == ParseResult::kIncomplete) break;
    if (result == ParseResult::kInvalid) {
      fail(conn, counters.dropped, "the server sent a masked frame");
      return;
    }
    offset += consumed;
    bool data = frame.opcode == Opcode::kText || frame.opcode == Opcode::kBinary;
    if (frame.rsv1 && !(data && conn.deflate)) {
      fail(conn, counters.dropped,
           conn.deflate ? "the server set RSV1 on a control or continuation frame"
                        : "the server set RSV1 without permessage-deflate");
      return;
    }
    switch (frame.opcode) {
      case Opcode::kText:
      case Opcode::kBinary:
        if (frame.fin) {
          deliver(conn, frame.payload, frame.rsv1);
        } else {
          conn.fragments.assign(frame.payload);
          conn.fragments_compressed = frame.rsv1;
        }
        break;
      case Opcode::kContinuation:
        conn.fragments.append(frame.payload);
        if (frame.fin) {
          std::string message = std::move(conn.fragments);
          conn.fragments.clear();
          deliver(conn, message, conn.fragments_compressed);
        }
        break;
      case Opcode::kPing:
        append_masked_frame(conn.out, Opcode::kPong, frame.payload, rng);
        break;
      case Opcode::kPong:
        break;
      case Opcode::kClose: {
        unsigned code = frame.payload.size() >= 2
                            ? (static_cast<uint8_t>(frame.payload[0]) << 8) |
                                  static_cast<uint8_t>(frame.payload[1])
                            : 1005;
        fail(conn, counters.dropped,
             "the server sent a Close frame with code " + std::to_string(code));
        return;
      }
    }
  }
  if (conn.fd >= 0) conn.in.erase(0, offset);
}

void Worker::deliver(Conn& conn, std::string_view payload, bool compressed) {
  if (!compressed) {
    scenario_.on_message(*this, conn, payload);
    return;
  }
  if (!decompressor_.decompress(payload, inflated_, kMaxInflatedBytes)) {
    fail(conn, counters.dropped,
         "the server sent a compressed message that is not valid deflate data or inflates to "
         "more than " + std::to_string(kMaxInflatedBytes) + " bytes");
    return;
  }
  scenario_.on_message(*this, conn, inflated_);
}

void Worker::send_text(Conn& conn, std::string_view payload) {
  if (conn.deflate) {
    compressor_.compress(payload, compressed_);
    append_masked_frame(conn.out, Opcode::kText, compressed_, rng, true);
  } else {
    append_masked_frame(conn.out, Opcode::kText, payload, rng);
  }
  counters.sent.fetch_add(1, std::memory_order_relaxed);
}

void Worker::send_raw(Conn& conn, std::string_view bytes) {
  conn.out.append(bytes);
  counters.sent.fetch_add(1, std::memory_order_relaxed);
}

void Worker::flush(Conn& conn) {
  while (conn.fd >= 0 && conn.out_offset < conn.out.size()) {
    ssize_t n = write(conn.fd, conn.out.data() + conn.out_offset, conn.out.size() - conn.out_offset);
    if (n > 0) {
      conn.out_offset += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    std::atomic<uint64_t>& counter =
        conn.state == Conn::State::kOpen ? counters.dropped : counters.rejected;
    fail(conn, counter, std::string("write() failed: ") + std::strerror(errno));
    return;
  }
  if (conn.out_offset == conn.out.size()) {
    conn.out.clear();
    conn.out_offset = 0;
  }
}

void Worker::close_conn(Conn& conn) {
  if (conn.state == Conn::State::kOpen) {
    counters.open.fetch_sub(1, std::memory_order_relaxed);
  } else if (conn.state != Conn::State::kIdle) {
    --connecting_;
  }
  if (conn.fd >= 0) close(conn.fd);  // also removes it from the epoll set
  conn.fd = -1;
  conn.state = Conn::State::kIdle;
}

void Worker::fail(Conn& conn, std::atomic<uint64_t>& counter, const std::string& why) {
  close_conn(conn);
  // Failures after the main thread began stopping are the run's own shutdown.
  if (control_.stopping.load(std::memory_order_relaxed)) return;
  counter.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mutex);
  if (first_error.empty()) {
    first_error = "connection " + std::to_string(conn.index) + ": " + why;
  }
}

void Worker::reconnect(Conn& conn) {
  close_conn(conn);
  start_connect(conn);
}

void Worker::record_server_error(std::string_view frame) {
  counters.server_errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mutex);
  if (first_error.empty()) first_error = "server error frame: " + std::string(frame);
}

}  // namespace parley::bench
