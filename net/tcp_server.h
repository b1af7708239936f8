#pragma once
// The listening socket and the connections of one loop.
//
// Ownership and threads: one TcpServer per EventLoop, used only on that loop's thread. Every
// loop binds its own socket to the same address with SO_REUSEPORT, so the kernel spreads new
// connections over the loops and no accept is ever shared. The TcpServer owns its connections;
// other loops reach one by posting to this loop and calling find(id).
//
// With a TlsContext every accepted connection speaks TLS: there is no plain fallback on the
// same port, because a mixed port would let a mistyped http:// URL send passwords and tokens
// in clear text. A plain HTTP request on a TLS port gets a 400 that says to use https://.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/connection.h"
#include "net/event_loop.h"
#include "net/tls_context.h"

namespace parley::net {

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};

// Parses "HOST:PORT" (IPv4 literal or "localhost"; "[::1]:PORT" for IPv6). Returns false with
// a readable `error` on malformed input.
bool parse_listen_address(const std::string& text, ListenAddress& out, std::string& error);

class TcpServer final : public IoHandler {
 public:
  // Called for every accepted connection; it must give the connection a handler.
  using AcceptCallback = std::function<void(Connection&)>;

  // With `tls`, every accepted connection speaks TLS (see above); the context is shared with
  // the other loops' servers.
  TcpServer(EventLoop& loop, AcceptCallback on_accept,
            std::shared_ptr<const TlsContext> tls = nullptr);
  ~TcpServer() override;

  // Creates the listening socket and starts accepting. Throws std::runtime_error with the
  // address and errno text on failure. Loop thread only.
  void listen(const ListenAddress& address);
  // Stops accepting and closes every connection. Loop thread only.
  void shutdown();

  Connection* find(uint64_t id) const;
  size_t connection_count() const { return connections_.size(); }
  // Visits every open connection (for idle sweeps). The callback may close the connection.
  void for_each(const std::function<void(Connection&)>& visit);

  // The port actually bound, useful with port 0.
  uint16_t bound_port() const { return bound_port_; }

  void on_io(uint32_t events) override;
  // Called by Connection::close(); destroys the connection at the end of the loop pass.
  void retire(Connection& conn);

 private:
  void accept_ready();
  void pause_accepting(int64_t ms);

  EventLoop& loop_;
  AcceptCallback on_accept_;
  std::shared_ptr<const TlsContext> tls_;
  int listen_fd_ = -1;
  uint16_t bound_port_ = 0;
  bool paused_ = false;
  uint64_t next_id_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> retired_;
  int64_t last_emfile_log_ms_ = -1000000;
};

}  // namespace parley::net
