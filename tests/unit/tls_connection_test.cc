// Connections over TLS on a real loop thread and loopback sockets: handshakes, coalesced
// writes, the high-water mark, key updates and paused reading.

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "net/connection.h"
#include "net/tcp_server.h"
#include "net/tls_context.h"
#include "tests/unit/tls_test_support.h"

namespace parley::net {
namespace {

using test::LoopServer;
using test::TestCertificate;
using test::TlsClient;

// Bytes of a long stream: the byte at `offset` is offset % 251, so a lost, repeated or
// reordered slice shows up at its offset.
std::string pattern_bytes(size_t offset, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((offset + i) % 251);
  }
  return bytes;
}

// Returns the first offset where `data` departs from the pattern, or data.size().
size_t pattern_mismatch(const std::string& data) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != static_cast<char>(i % 251)) {
      return i;
    }
  }
  return data.size();
}

std::shared_ptr<const TlsContext> make_context(const TestCertificate& certificate,
                                               int64_t handshake_timeout_ms = 10000) {
  return std::make_shared<const TlsContext>(
      TlsOptions{certificate.cert_file(), certificate.key_file(), handshake_timeout_ms});
}

class EchoHandler final : public ConnectionHandler {
 public:
  size_t on_data(Connection& conn, char* data, size_t len) override {
    (void)conn.send(std::string(data, len));
    return len;
  }
  void on_closed(Connection&) override {}
};

// Sends `count` frames of `size` bytes for any input, all queued in one call.
class BurstHandler final : public ConnectionHandler {
 public:
  BurstHandler(int count, size_t size) : count_(count), size_(size) {}
  size_t on_data(Connection& conn, char*, size_t len) override {
    for (int i = 0; i < count_; ++i) {
      (void)conn.send(pattern_bytes(static_cast<size_t>(i) * size_, size_));
    }
    return len;
  }
  void on_closed(Connection&) override {}

 private:
  int count_;
  size_t size_;
};

// On its first input, streams `total` pattern bytes in chunks of `chunk` bytes, pushing
// whenever the queue is under the high-water mark (checked every millisecond), and records how
// full the queue got. 'P' queues "PONG" after whatever is queued.
class FloodHandler final : public ConnectionHandler {
 public:
  struct Stats {
    std::atomic<size_t> max_queued{0};
    std::atomic<int> rejections{0};
    std::atomic<bool> done{false};
  };

  FloodHandler(TcpServer& tcp, Stats& stats, size_t chunk, size_t total)
      : tcp_(tcp), stats_(stats), chunk_(chunk), total_(total) {}

  size_t on_data(Connection& conn, char* data, size_t len) override {
    for (size_t i = 0; i < len; ++i) {
      if (data[i] == 'P') {
        (void)conn.send(std::string("PONG"));
      } else if (timer_ == 0 && !stats_.done) {
        push(conn);
        if (!stats_.done) {
          timer_ = conn.loop().run_every(1, [this, id = conn.id()] {
            if (Connection* open = tcp_.find(id)) {
              push(*open);
            }
          });
        }
      }
    }
    return len;
  }

  void on_closed(Connection& conn) override { stop(conn); }

 private:
  void push(Connection& conn) {
    while (sent_ < total_) {
      size_t size = std::min(chunk_, total_ - sent_);
      SendStatus status = conn.send(pattern_bytes(sent_, size));
      if (status != SendStatus::kQueued) {
        stats_.rejections.fetch_add(1);
        return;
      }
      sent_ += size;
      if (conn.queued_bytes() > stats_.max_queued) {
        stats_.max_queued = conn.queued_bytes();
      }
    }
    stats_.done = true;
    stop(conn);
  }

  void stop(Connection& conn) {
    if (timer_ != 0) {
      conn.loop().cancel_timer(timer_);
      timer_ = 0;
    }
  }

  TcpServer& tcp_;
  Stats& stats_;
  size_t chunk_;
  size_t total_;
  size_t sent_ = 0;
  TimerId timer_ = 0;
};

// Takes one line per call and pauses reading until a timer has echoed it, like the HTTP
// handler that serves one request at a time.
class OneLineAtATimeHandler final : public ConnectionHandler {
 public:
  explicit OneLineAtATimeHandler(TcpServer& tcp) : tcp_(tcp) {}

  size_t on_data(Connection& conn, char* data, size_t len) override {
    std::string_view input(data, len);
    size_t end = input.find('\n');
    if (end == std::string_view::npos) {
      return 0;
    }
    std::string line(input.substr(0, end + 1));
    conn.pause_reading();
    conn.loop().run_after(2, [this, id = conn.id(), line] {
      if (Connection* open = tcp_.find(id)) {
        (void)open->send(line);
        open->resume_reading();
      }
    });
    return end + 1;
  }
  void on_closed(Connection&) override {}

 private:
  TcpServer& tcp_;
};

// Shrinks the server side's send buffer so that large writes stall with EAGAIN.
void shrink_send_buffer(Connection& conn) {
  int size = 8192;
  setsockopt(conn.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

TEST_CASE("tls connection: echo over TLS 1.2 and 1.3") {
  TestCertificate certificate;
  LoopServer server(make_context(certificate),
                    [](Connection& conn) { conn.set_handler(std::make_unique<EchoHandler>()); });
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    TlsClient client(test::connect_to(server.port()), version);
    CHECK(SSL_version(client.native()) == version);
    client.write("hello");
    CHECK(client.read(5) == "hello");
    std::string large = pattern_bytes(0, 300 * 1024);
    client.write(large);
    std::string echoed = client.read(large.size());
    CHECK(echoed.size() == large.size());
    CHECK(pattern_mismatch(echoed) == large.size());
  }
}

// Reads raw TLS records from the socket and returns the length of the first application data
// record (content type 23), skipping any other record.
size_t first_application_record_length(int fd) {
  auto read_exactly = [fd](size_t size) {
    std::string bytes(size, '\0');
    size_t total = 0;
    while (total < size) {
      ssize_t n = ::recv(fd, bytes.data() + total, size - total, 0);
      REQUIRE(n > 0);
      total += static_cast<size_t>(n);
    }
    return bytes;
  };
  for (;;) {
    std::string header = read_exactly(5);
    size_t length =
        (static_cast<unsigned char>(header[3]) << 8) | static_cast<unsigned char>(header[4]);
    read_exactly(length);
    if (header[0] == 23) {
      return length;
    }
  }
}

TEST_CASE("tls connection: small frames of one pass share one record") {
  static constexpr int kFrames = 1000;
  static constexpr size_t kFrameBytes = 10;
  TestCertificate certificate;
  LoopServer server(make_context(certificate), [](Connection& conn) {
    conn.set_handler(std::make_unique<BurstHandler>(kFrames, kFrameBytes));
  });
  // TLS 1.2 keeps the record layer simple to read: no tickets after the handshake, and
  // AES-GCM or ChaCha20-Poly1305 add at most 24 bytes to a record.
  TlsClient client(test::connect_to(server.port()), TLS1_2_VERSION);
  client.write("go");
  size_t length = first_application_record_length(client.fd());
  CHECK(length >= kFrames * kFrameBytes);
  CHECK(length <= kFrames * kFrameBytes + 24);
}

TEST_CASE("tls connection: high-water mark bounds the queue of a slow reader") {
  constexpr size_t kHighWater = 256 * 1024;
  constexpr size_t kTotal = 8 * 1024 * 1024;
  // Small chunks are gathered into records; large ones are written in place.
  for (size_t chunk : {size_t{1000}, size_t{100 * 1024}}) {
    CAPTURE(chunk);
    TestCertificate certificate;
    FloodHandler::Stats stats;
    LoopServer* raw_server = nullptr;
    LoopServer server(make_context(certificate), [&](Connection& conn) {
      shrink_send_buffer(conn);
      conn.set_high_water_mark(kHighWater);
      conn.set_handler(std::make_unique<FloodHandler>(raw_server->tcp(), stats, chunk, kTotal));
    });
    raw_server = &server;

    TlsClient client(test::connect_to(server.port(), 4096), TLS1_3_VERSION);
    client.write("go");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(stats.rejections > 0);
    CHECK_FALSE(stats.done);

    std::string received = client.read(kTotal);
    CHECK(received.size() == kTotal);
    CHECK(pattern_mismatch(received) == kTotal);
    CHECK(stats.done);
    // A send is accepted while the queue is at or below the mark, so it can pass the mark by
    // at most one chunk.
    CHECK(stats.max_queued <= kHighWater + chunk);
  }
}

TEST_CASE("tls connection: key update while output is blocked") {
  constexpr size_t kTotal = 4 * 1024 * 1024;
  TestCertificate certificate;
  FloodHandler::Stats stats;
  LoopServer* raw_server = nullptr;
  LoopServer server(make_context(certificate), [&](Connection& conn) {
    shrink_send_buffer(conn);
    conn.set_handler(std::make_unique<FloodHandler>(raw_server->tcp(), stats, 64 * 1024, kTotal));
  });
  raw_server = &server;

  TlsClient client(test::connect_to(server.port(), 4096), TLS1_3_VERSION);
  client.write("go");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The server's socket is full, so its reply to the key update must wait behind the stream.
  REQUIRE(SSL_key_update(client.native(), SSL_KEY_UPDATE_REQUESTED) == 1);
  client.write("P");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::string received = client.read(kTotal + 4);
  REQUIRE(received.size() == kTotal + 4);
  CHECK(pattern_mismatch(received.substr(0, kTotal)) == kTotal);
  CHECK(received.substr(kTotal) == "PONG");
  client.write("P");
  CHECK(client.read(4) == "PONG");
}

TEST_CASE("tls connection: paused reading resumes with buffered records") {
  constexpr int kLines = 200;
  TestCertificate certificate;
  LoopServer* raw_server = nullptr;
  LoopServer server(make_context(certificate), [&](Connection& conn) {
    conn.set_handler(std::make_unique<OneLineAtATimeHandler>(raw_server->tcp()));
  });
  raw_server = &server;

  TlsClient client(test::connect_to(server.port()));
  std::string expected;
  for (int i = 0; i < kLines; ++i) {
    expected += "line " + std::to_string(i) + "\n";
  }
  client.write(expected);  // one write: many lines arrive while the handler is paused
  CHECK(client.read(expected.size()) == expected);
}

// Polls the loop until it has no connections left, for up to two seconds.
size_t wait_for_no_connections(LoopServer& server) {
  size_t open = 0;
  for (int attempt = 0; attempt < 200; ++attempt) {
    server.run([&] { open = server.tcp().connection_count(); });
    if (open == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return open;
}

TEST_CASE("tls connection: renegotiation attempt refused") {
  TestCertificate certificate;
  LoopServer server(make_context(certificate),
                    [](Connection& conn) { conn.set_handler(std::make_unique<EchoHandler>()); });
  {
    TlsClient client(test::connect_to(server.port()), TLS1_2_VERSION);
    client.write("before");
    CHECK(client.read(6) == "before");
    REQUIRE(SSL_renegotiate(client.native()) == 1);
    // The server replies to the new ClientHello with a no_renegotiation alert, which the OpenSSL
    // client treats as fatal.
    CHECK(SSL_do_handshake(client.native()) != 1);
  }
  CHECK(wait_for_no_connections(server) == 0);

  TlsClient next(test::connect_to(server.port()), TLS1_2_VERSION);
  next.write("after");
  CHECK(next.read(5) == "after");
}

TEST_CASE("tls connection: silent client closed after the handshake timeout") {
  TestCertificate certificate;
  LoopServer server(make_context(certificate, 200),
                    [](Connection& conn) { conn.set_handler(std::make_unique<EchoHandler>()); });
  int fd = test::connect_to(server.port());
  auto start = std::chrono::steady_clock::now();
  pollfd watch{fd, POLLIN, 0};
  REQUIRE(::poll(&watch, 1, 5000) == 1);
  char byte = 0;
  CHECK(::recv(fd, &byte, 1, 0) == 0);
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= std::chrono::milliseconds(150));
  CHECK(elapsed < std::chrono::milliseconds(2000));
  ::close(fd);
  CHECK(wait_for_no_connections(server) == 0);
}

TEST_CASE("tls connection: plain HTTP request gets 400") {
  TestCertificate certificate;
  LoopServer server(make_context(certificate),
                    [](Connection& conn) { conn.set_handler(std::make_unique<EchoHandler>()); });
  int fd = test::connect_to(server.port());
  std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  CHECK(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(response.find("Connection: close\r\n") != std::string::npos);
  CHECK(response.find("https://") != std::string::npos);
  // The request itself never reached the handler, which would have echoed it.
  CHECK(response.find("GET / HTTP/1.1") == std::string::npos);
}

}  // namespace
}  // namespace parley::net
