#pragma once
// Helpers for the TLS unit tests: a throw-away self-signed certificate, a server on its own
// loop thread, and a blocking OpenSSL client.

#include <openssl/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "net/connection.h"
#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "net/tls_context.h"

namespace parley::test {

// A P-256 key and a self-signed certificate for 127.0.0.1 in PEM files of a new temporary
// directory, removed again by the destructor.
class TestCertificate {
 public:
  TestCertificate();
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::string cert_file_;
  std::string key_file_;
};

// One EventLoop on its own thread with a TcpServer on 127.0.0.1 and an ephemeral port. The
// accept callback runs on the loop thread; run() runs any task there and waits for it.
class LoopServer {
 public:
  LoopServer(std::shared_ptr<const net::TlsContext> tls, net::TcpServer::AcceptCallback on_accept);
  ~LoopServer();
  LoopServer(const LoopServer&) = delete;
  LoopServer& operator=(const LoopServer&) = delete;

  uint16_t port() const { return port_; }
  net::EventLoop& loop() { return loop_; }
  net::TcpServer& tcp() { return *tcp_; }
  void run(const std::function<void()>& task);

 private:
  net::EventLoop loop_{0};
  std::unique_ptr<net::TcpServer> tcp_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// Returns a socket connected to 127.0.0.1:`port`, with SO_RCVBUF set first when
// `receive_buffer` is not 0. Throws std::runtime_error on failure.
int connect_to(uint16_t port, int receive_buffer = 0);

// A blocking TLS client on a connected socket. It does not verify the server certificate:
// the tests check the server's behaviour, not certificate validation.
class TlsClient {
 public:
  // Handshakes with the protocol pinned to `version` (TLS1_2_VERSION, TLS1_3_VERSION) or with
  // any version the library allows for 0. Throws std::runtime_error if the handshake fails.
  explicit TlsClient(int fd, int version = 0);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  void write(std::string_view data);
  // Reads exactly `size` bytes, or fewer if the server closes first.
  std::string read(size_t size);
  SSL* native() const { return ssl_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace parley::test
