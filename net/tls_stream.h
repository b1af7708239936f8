#pragma once
// The TLS state of one server-side connection: an OpenSSL SSL object reading and writing the
// connection's non-blocking socket directly (SSL_set_fd), plus what each stalled operation
// waits for.
//
// Ownership and threads: owned by its Connection and used only on that connection's loop
// thread. The process must ignore SIGPIPE, as for plain connections, because OpenSSL writes
// to the socket with write(2).

#include <openssl/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "net/event_loop.h"

namespace parley::net {

class TlsContext;

// The outcome of one OpenSSL call.
enum class TlsStatus {
  kOk,         // progress: the handshake finished, or bytes were read or written
  kWantRead,   // retry the same call when the socket is readable
  kWantWrite,  // retry the same call when the socket is writable
  kClosed,     // the peer sent close_notify
  kError,      // fatal: error() returns the reason and the connection must be closed
};

class TlsStream {
 public:
  // Creates the SSL object in server mode on `fd`. Throws std::runtime_error if OpenSSL
  // cannot allocate it.
  TlsStream(const TlsContext& context, int fd);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Advances the handshake as far as the socket allows.
  TlsStatus handshake();
  // Decrypts up to `capacity` bytes into `out` and stores the count in `count`.
  TlsStatus read(char* out, size_t capacity, size_t& count);
  // Encrypts and sends up to one record from `data` and stores the plaintext bytes sent in
  // `count`. After kWantWrite or kWantRead the retry must pass at least as many bytes, and the
  // same leading bytes, from any buffer.
  TlsStatus write(const char* data, size_t size, size_t& count);
  // Queues and tries once to send a close_notify alert; does not wait for the peer's.
  void send_close_notify();
  // True when OpenSSL holds received bytes that epoll cannot report: a record only partly
  // returned by read().
  bool has_pending() const;

  bool established() const { return established_; }
  // The reason of the last kError ("wrong version number", "Connection reset by peer").
  const std::string& error() const { return error_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" after the handshake.
  std::string description() const;

  // What each stalled operation waits for; Connection turns these into epoll interest.
  bool handshake_wants_write = false;
  bool read_wants_write = false;
  bool write_wants_read = false;
  // Whether the first byte from the peer was checked for a plain HTTP request.
  bool first_byte_checked = false;
  TimerId handshake_timer = 0;

 private:
  static void clear_errors();
  TlsStatus classify(int result);

  SSL* ssl_ = nullptr;
  bool established_ = false;
  std::string error_;
};

}  // namespace parley::net
