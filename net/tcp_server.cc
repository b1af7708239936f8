#include "net/tcp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "net/descriptor_limit.h"
#include "net/log.h"
#include "net/socket_address.h"

namespace parley::net {

namespace {
constexpr int kAcceptsPerEvent = 64;
constexpr int64_t kEmfilePauseMs = 100;
// After another thread took the descriptor the spare freed, try again this soon.
constexpr int64_t kRaceRetryMs = 5;
}  // namespace

bool parse_listen_address(const std::string& text, ListenAddress& out, std::string& error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "expected HOST:PORT, got '" + text + "'";
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  in6_addr probe{};
  if (inet_pton(AF_INET, host.c_str(), &probe) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &probe) != 1) {
    error = "invalid IP address '" + host + "' (expected an IPv4 or IPv6 literal)";
    return false;
  }
  std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      error = "invalid port '" + port_text + "' (expected 0-65535)";
      return false;
    }
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port > 65535) {
    error = "invalid port '" + port_text + "' (expected 0-65535)";
    return false;
  }
  out.host = host;
  out.port = static_cast<uint16_t>(port);
  return true;
}

TcpServer::TcpServer(EventLoop& loop, AcceptCallback on_accept,
                     std::shared_ptr<const TlsContext> tls)
    : loop_(loop),
      on_accept_(std::move(on_accept)),
      tls_(std::move(tls)),
      // Ids carry the loop index in the top bits so they are unique across loops.
      id_prefix_(static_cast<uint64_t>(loop.index()) << kLoopShift) {}

TcpServer::~TcpServer() {
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
  }
}

int TcpServer::open_spare_descriptor() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

TcpServer::RejectResult TcpServer::reject_one_over_capacity() {
  // Free the spare so accept() has a descriptor, then close the connection at once: the
  // client sees the connection closed instead of waiting in the backlog for a slot.
  ::close(spare_fd_);
  spare_fd_ = -1;
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  const int error = errno;
  if (fd >= 0) {
    ++rejected_;
    ::close(fd);
  }
  spare_fd_ = open_spare_descriptor();
  if (fd >= 0) {
    return RejectResult::kRejected;
  }
  // EMFILE here means another thread took the freed descriptor first.
  return error == EMFILE ? RejectResult::kRaced : RejectResult::kNothingPending;
}

void TcpServer::log_rejection(const char* reason) {
  if (loop_.now_ms() - last_rejection_log_ms_ > 10000) {
    last_rejection_log_ms_ = loop_.now_ms();
    log(LogLevel::kWarn, "loop ", loop_.index(), ": ", reason, " with ", open_count_,
        " connections on this loop; closing new connections at once (", rejected_,
        " rejected so far)");
  }
}

void TcpServer::listen(const ListenAddress& address) {
  loop_.assert_in_loop_thread();
  sockaddr_storage storage{};
  socklen_t length = 0;
  to_sockaddr(address, storage, length);
  int family = storage.ss_family;
  std::string where = address.host + ":" + std::to_string(address.port);
  listen_fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    throw std::runtime_error("socket for " + where + ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("SO_REUSEPORT on " + where + ": " + std::strerror(errno));
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    throw std::runtime_error("bind " + where + ": " + std::strerror(errno));
  }
  if (::listen(listen_fd_, SOMAXCONN) != 0) {
    throw std::runtime_error("listen " + where + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  bound_port_ =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  loop_.add(listen_fd_, EPOLLIN, this);
}

void TcpServer::shutdown() {
  loop_.assert_in_loop_thread();
  if (listen_fd_ >= 0) {
    if (!paused_) {
      loop_.remove(listen_fd_);
    }
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<Connection*> open;
  for (const auto& conn : slots_) {
    if (conn) {
      open.push_back(conn.get());
    }
  }
  for (Connection* conn : open) {
    conn->close("server shutting down");
  }
}

Connection* TcpServer::find(uint64_t id) const {
  const uint64_t slot = id & kSlotMask;
  if (slot >= slots_.size()) {
    return nullptr;
  }
  Connection* conn = slots_[slot].get();
  // A reused slot contains a newer connection with another serial, so its id differs.
  if (conn == nullptr || conn->id() != id || conn->closed()) {
    return nullptr;
  }
  return conn;
}

void TcpServer::for_each(const std::function<void(Connection&)>& visit) {
  std::vector<Connection*> open;
  open.reserve(open_count_);
  for (const auto& conn : slots_) {
    if (conn) {
      open.push_back(conn.get());
    }
  }
  for (Connection* conn : open) {
    if (!conn->closed()) {
      visit(*conn);
    }
  }
}

void TcpServer::on_io(uint32_t) {
  accept_ready();
}

void TcpServer::accept_ready() {
  for (int i = 0; i < kAcceptsPerEvent && listen_fd_ >= 0; ++i) {
    // The peer address is not stored: Connection::peer_address() reads it from the socket.
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
        return;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors although connections are below their capacity (other files are
        // open). The pending connection would stay in the backlog and level-triggered epoll
        // would report it again at once. Reject it through the spare descriptor; without a
        // spare, pause the listener so the loop does not spin at 100% CPU.
        const int error = errno;
        if (spare_fd_ < 0) {
          spare_fd_ = open_spare_descriptor();  // lost to a race earlier; back once one frees
        }
        if (error != EMFILE || spare_fd_ < 0) {
          log_rejection(std::strerror(error));
          pause_accepting(kEmfilePauseMs);
          return;
        }
        const RejectResult result = reject_one_over_capacity();
        log_rejection("accept failed: out of descriptors");
        if (result == RejectResult::kNothingPending) {
          return;
        }
        if (result == RejectResult::kRaced) {
          pause_accepting(kRaceRetryMs);
          return;
        }
        continue;
      }
      log(LogLevel::kError, "loop ", loop_.index(), ": accept failed: ", std::strerror(errno));
      return;
    }
    if (!acquire_connection_slot()) {
      ::close(fd);
      ++rejected_;
      log_rejection("connection capacity reached");
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t slot = 0;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else if (slots_.size() <= kSlotMask) {
      slot = slots_.size();
      slots_.emplace_back();
    } else {
      ::close(fd);  // 16M connections on one loop: far beyond any descriptor limit
      continue;
    }
    uint64_t serial = next_serial_++ & kSerialMask;
    if (serial == 0) {
      serial = next_serial_++ & kSerialMask;  // after a wrap: keep every id non-zero
    }
    const uint64_t id = id_prefix_ | (serial << kSlotBits) | slot;
    slots_[slot] = std::make_unique<Connection>(loop_, fd, id);
    ++open_count_;
    Connection& ref = *slots_[slot];
    ref.start(this, tls_.get());
    if (ref.closed()) {
      continue;  // no TLS session could be created; already logged
    }
    on_accept_(ref);
  }
}

void TcpServer::pause_accepting(int64_t ms) {
  if (paused_ || listen_fd_ < 0) {
    return;
  }
  paused_ = true;
  loop_.remove(listen_fd_);
  loop_.run_after(ms, [this] {
    paused_ = false;
    if (listen_fd_ >= 0) {
      loop_.add(listen_fd_, EPOLLIN, this);
    }
  });
}

void TcpServer::retire(Connection& conn) {
  const uint64_t slot = conn.id() & kSlotMask;
  if (slot >= slots_.size() || slots_[slot].get() != &conn) {
    return;
  }
  release_connection_slot();
  retired_.push_back(std::move(slots_[slot]));
  free_slots_.push_back(static_cast<uint32_t>(slot));
  --open_count_;
  if (retired_.size() == 1) {
    loop_.at_end_of_pass([this] { retired_.clear(); });
  }
}

}  // namespace parley::net
