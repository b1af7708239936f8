#pragma once
// Settings of one parleyd process, filled from the command line.

#include <cstddef>
#include <cstdint>
#include <string>

#include "net/tcp_server.h"
#include "net/tls_context.h"

namespace parley::im {

struct ServerConfig {
  net::ListenAddress listen;                 // --listen HOST:PORT
  net::TlsOptions tls;  // --tls-cert, --tls-key, --tls-handshake-timeout; off without a cert
  int threads = 0;                           // --threads; 0 means one per core
  int store_threads = 4;                     // --store-threads: reader/worker threads
  std::string db_url = "sqlite:./data/parley.db";  // --db
  std::string media_dir = "./data/media";   // --media-dir
  std::string web_dir = "./web";            // --web-dir
  size_t max_upload_bytes = 10u << 20;      // --max-upload, bytes
  size_t max_ws_message_bytes = 64u << 10;  // --max-message, bytes of one WebSocket message
  bool deflate = false;  // --deflate: accept permessage-deflate (RFC 7692) on /chat
  int64_t idle_timeout_ms = 60000;          // --idle-timeout (seconds on the command line)
  size_t max_group_members = 5000;          // --max-group-members
  // --handshake-timeout: an HTTP request head, a WebSocket handshake included, must arrive in
  // full within this many ms of its first byte.
  int64_t handshake_timeout_ms = 10000;
  // --message-rate: chat messages (cmd 10 and 11) per second per user, over all the user's
  // sessions; bursts up to twice this are allowed. 0 turns the limit off.
  double message_rate = 50;
  // --login-failures: failed logins per minute per client address; the address is rejected
  // with rate_limited once it has used this many without a pause. 0 turns the limit off.
  double login_failures_per_minute = 10;
};

// Limits of the protocol itself, in UTF-8 bytes.
constexpr size_t kMaxContentBytes = 16 * 1024;
constexpr size_t kMaxCidBytes = 64;
constexpr size_t kMaxUrlBytes = 1024;
constexpr size_t kMaxMemoBytes = 1024;
constexpr size_t kMaxGroupNameBytes = 64;
constexpr size_t kMaxNicknameBytes = 64;
// Messages returned by one sync (cmd 30); a client with more missed syncs again from the last.
constexpr int kSyncLimit = 1000;

}  // namespace parley::im
