// UpgradeHandler and Session::check_idle over real sockets: one loop thread runs the server,
// and the test reads and writes a blocking client socket.

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tls_test_support.h"
#include "ws/frame.h"
#include "ws/handshake.h"
#include "ws/upgrade.h"

namespace parley::ws {
namespace {

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

std::string upgrade_request(std::string_view version = "13") {
  std::string request =
      "GET /any/path HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: ";
  request.append(kKey);
  request.append("\r\nSec-WebSocket-Version: ");
  request.append(version);
  request.append("\r\n\r\n");
  return request;
}

class EchoHandler final : public SessionHandler {
 public:
  void on_text(Session& session, std::string_view text) override { (void)session.send_text(text); }
  void on_binary(Session& session, std::string_view data) override {
    (void)session.send_binary(data);
  }
};

// A server whose connections all get an UpgradeHandler, with the timeout sweep running.
struct EchoEndpoint {
  explicit EchoEndpoint(EndpointOptions endpoint_options)
      : options(std::move(endpoint_options)),
        factory([](const net::HttpRequest&, std::string_view) {
          return std::make_unique<EchoHandler>();
        }),
        server(nullptr, [this](net::Connection& conn) {
          conn.set_handler(std::make_unique<UpgradeHandler>(conn, options, factory));
        }) {
    server.run([this] { start_timeout_sweep(server.loop(), server.tcp(), options); });
  }

  EndpointOptions options;
  SessionHandlerFactory factory;
  test::LoopServer server;
};

// A blocking client socket that gives up reading after `timeout_ms`.
struct Client {
  explicit Client(uint16_t port, int timeout_ms = 2000) : fd(test::connect_to(port)) {
    timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~Client() { ::close(fd); }

  void write(std::string_view data) const {
    REQUIRE(::send(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  }

  // Reads until the server closes the connection or the read times out.
  std::string read_all() {
    std::string received;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        eof = n == 0;
        return received;
      }
      received.append(buffer, static_cast<size_t>(n));
    }
  }

  // Reads until `expected` bytes arrived, the server closes, or the read times out.
  std::string read_exactly(size_t expected) {
    std::string received;
    char buffer[4096];
    while (received.size() < expected) {
      const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, expected - received.size()), 0);
      if (n <= 0) {
        eof = n == 0;
        break;
      }
      received.append(buffer, static_cast<size_t>(n));
    }
    return received;
  }

  int fd;
  bool eof = false;
};

size_t response_length(const std::string& bytes) {
  const size_t end = bytes.find("\r\n\r\n");
  return end == std::string::npos ? bytes.size() : end + 4;
}

}  // namespace

TEST_CASE("upgrade handler reads frames pipelined behind the request") {
  EchoEndpoint endpoint(EndpointOptions{});
  Client client(endpoint.server.port());
  const std::string frame = encode_masked_frame(Opcode::kText, "pipelined", 0x01020304);
  client.write(upgrade_request() + frame);

  const std::string expected_response = build_accept_response(compute_accept_key(kKey));
  const std::string expected_echo = encode_frame(Opcode::kText, "pipelined");
  const std::string received = client.read_exactly(expected_response.size() + expected_echo.size());
  CHECK(received.substr(0, response_length(received)) == expected_response);
  CHECK(received.substr(response_length(received)) == expected_echo);
}

TEST_CASE("upgrade handler rejects version 8") {
  EchoEndpoint endpoint(EndpointOptions{});
  Client client(endpoint.server.port());
  client.write(upgrade_request("8"));

  const std::string received = client.read_all();
  CHECK(received.starts_with("HTTP/1.1 426 "));
  CHECK(received.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
  CHECK(client.eof);
}

TEST_CASE("upgrade handler closes an overdue handshake") {
  EndpointOptions options;
  options.handshake_timeout_ms = 100;
  EchoEndpoint endpoint(options);
  Client client(endpoint.server.port());
  const std::string request = upgrade_request();
  client.write(request.substr(0, 20));

  const auto started = std::chrono::steady_clock::now();
  const std::string received = client.read_all();
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(received.empty());
  CHECK(client.eof);
  CHECK(waited >= std::chrono::milliseconds(50));
  CHECK(waited < std::chrono::milliseconds(1500));
}

TEST_CASE("idle session pinged, then closed with 1001") {
  EndpointOptions options;
  options.idle_timeout_ms = 100;
  EchoEndpoint endpoint(options);
  Client client(endpoint.server.port());
  client.write(upgrade_request());
  const std::string response = build_accept_response(compute_accept_key(kKey));
  REQUIRE(client.read_exactly(response.size()) == response);

  // The Ping comes after one idle period and the Close after a second, since no Pong is sent.
  const std::string ping = encode_frame(Opcode::kPing, {});
  CHECK(client.read_exactly(ping.size()) == ping);
  const std::string close = encode_close_frame(CloseCode::kGoingAway, "idle timeout");
  CHECK(client.read_exactly(close.size()) == close);
}

// Echoes of many frames read in one pass are appended to shared output buffers, which start a
// new buffer past 64 KiB; what leaves must still be every frame whole and in order.
TEST_CASE("upgrade handler echoes a pipelined burst in order") {
  EchoEndpoint endpoint(EndpointOptions{});
  Client client(endpoint.server.port(), 5000);
  const size_t sizes[] = {0, 1, 125, 126, 1000, 65535, 65536, 70000, 3, 200000, 17, 0, 40000};
  std::string burst = upgrade_request();
  std::string expected = build_accept_response(compute_accept_key(kKey));
  uint32_t key = 0x11223344;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    const std::string payload(sizes[i], static_cast<char>('a' + i));
    const Opcode opcode = i % 2 == 0 ? Opcode::kText : Opcode::kBinary;
    burst += encode_masked_frame(opcode, payload, key++);
    expected += encode_frame(opcode, payload);
  }
  client.write(burst);

  const std::string received = client.read_exactly(expected.size());
  REQUIRE(received.size() == expected.size());
  CHECK(received == expected);
}

}  // namespace parley::ws
