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
  size_t connection_count() const { return open_count_; }
  // Visits every open connection (for idle sweeps). The callback may close the connection.
  void for_each(const std::function<void(Connection&)>& visit);

  // The number of connections closed at once because the process had no descriptor left.
  uint64_t rejected_count() const { return rejected_; }

  // The port actually bound, useful with port 0.
  uint16_t bound_port() const { return bound_port_; }

  void on_io(uint32_t events) override;
  // Called by Connection::close(); destroys the connection at the end of the loop pass.
  void retire(Connection& conn);

 private:
  void accept_ready();
  void pause_accepting(int64_t ms);
  static int open_spare_descriptor();
  enum class RejectResult { kRejected, kNothingPending, kRaced };
  // At the descriptor limit, with a spare descriptor: accepts one pending connection on the
  // spare's slot and closes it. kRaced: another thread took the freed descriptor first.
  RejectResult reject_one_over_capacity();
  // Logs why new connections are being closed at once, at most once per 10 s.
  void log_rejection(const char* reason);

  EventLoop& loop_;
  AcceptCallback on_accept_;
  std::shared_ptr<const TlsContext> tls_;
  int listen_fd_ = -1;
  // Held open so that, at the descriptor limit, one can be freed to accept and close a
  // connection the server has no room for (see reject_one_over_capacity()).
  int spare_fd_ = open_spare_descriptor();
  uint64_t rejected_ = 0;
  uint16_t bound_port_ = 0;
  bool paused_ = false;
  // Connection ids: the loop index in the top 8 bits, a serial in the next 32, and the
  // connection's slot in slots_ in the low 24. A slot is reused after its connection closes;
  // the serial makes the new id differ, so a stale id finds nothing. A slot table costs 8 bytes
  // per connection where a hash map node would cost about 40 with its bucket.
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
  static constexpr uint64_t kSerialMask = (uint64_t{1} << 32) - 1;
  static constexpr int kLoopShift = 56;
  uint64_t id_prefix_;
  uint64_t next_serial_ = 1;
  std::vector<std::unique_ptr<Connection>> slots_;  // null where free
  std::vector<uint32_t> free_slots_;
  size_t open_count_ = 0;
  std::vector<std::unique_ptr<Connection>> retired_;
  int64_t last_rejection_log_ms_ = -1000000;
};

}  // namespace parley::net
