#pragma once
// The server's TLS configuration: one OpenSSL SSL_CTX with the certificate chain and key.
//
// Ownership and threads: created once on the main thread before any loop starts, then shared
// read-only by every loop (each connection calls SSL_new on it). OpenSSL 3 allows SSL_new from
// many threads on one SSL_CTX. The server-side session cache is off, so handshakes store no
// sessions in the shared context; resumption still works through stateless session tickets.
//
// Policy: TLS 1.2 and 1.3 only. TLS 1.2 is limited to ECDHE key exchange with AEAD ciphers
// (AES-GCM, ChaCha20-Poly1305); TLS 1.3 uses OpenSSL's default suites, which are all AEAD.
// Renegotiation is refused.

#include <openssl/types.h>

#include <cstdint>
#include <string>

namespace parley::net {

struct TlsOptions {
  std::string cert_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;   // PEM: the private key of the certificate
  // A connection whose TLS handshake is not complete this long after the accept is closed.
  int64_t handshake_timeout_ms = 10000;

  bool enabled() const { return !cert_file.empty(); }
};

class TlsContext {
 public:
  // Loads the certificate chain and key and checks that they match. Throws std::runtime_error
  // naming the file and the OpenSSL reason on failure.
  explicit TlsContext(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  int64_t handshake_timeout_ms() const { return handshake_timeout_ms_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  int64_t handshake_timeout_ms_;
};

// Removes every error from this thread's OpenSSL error queue and returns the text of the
// earliest one ("wrong version number"), or `fallback` when the queue was empty.
std::string take_tls_error(const char* fallback);

}  // namespace parley::net
