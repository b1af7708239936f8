#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <stdexcept>

namespace parley::net {

namespace {
// TLS 1.2 suites: forward secrecy (ECDHE) and authenticated encryption only, ECDSA and RSA
// certificates alike. The order is the client's choice among these.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

[[noreturn]] void throw_tls_error(const std::string& what) {
  throw std::runtime_error(what + ": " + take_tls_error("unknown OpenSSL error"));
}

// Throws for a certificate or key file that could not be loaded, naming the file.
[[noreturn]] void throw_load_error(const char* what, const std::string& path) {
  unsigned long code = ERR_peek_error();
  if (!ERR_SYSTEM_ERROR(code) && ERR_GET_LIB(code) == ERR_LIB_PEM &&
      ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
    throw_tls_error(std::string("failed to load the TLS ") + what + " from '" + path +
                    "' (expected a PEM file)");
  }
  throw_tls_error(std::string("failed to load the TLS ") + what + " from '" + path + "'");
}
}  // namespace

std::string take_tls_error(const char* fallback) {
  unsigned long code = ERR_get_error();
  if (code == 0) {
    return fallback;
  }
  std::string text;
  if (ERR_SYSTEM_ERROR(code)) {
    text = std::strerror(ERR_GET_REASON(code));
  } else if (const char* reason = ERR_reason_error_string(code)) {
    text = reason;
  } else {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

TlsContext::TlsContext(const TlsOptions& options)
    : handshake_timeout_ms_(options.handshake_timeout_ms) {
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) {
    throw_tls_error("failed to create the TLS context");
  }
  try {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION);
    if (SSL_CTX_set_cipher_list(ctx_, kTls12Ciphers) != 1) {
      throw_tls_error("failed to set the TLS 1.2 cipher list");
    }
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // PARTIAL_WRITE makes SSL_write report each record as soon as it is sent, so the output
    // queue can drop exactly those bytes. MOVING_WRITE_BUFFER lets a retried SSL_write pass
    // the same leading bytes from another buffer (Connection gathers them again).
    // RELEASE_BUFFERS frees the read and write record buffers of an idle connection, each a
    // little over 16 KiB.
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str()) != 1) {
      throw_load_error("certificate chain", options.cert_file);
    }
    // SSL_CTX_use_PrivateKey_file already compares the key with the certificate and fails with
    // X509_R_KEY_VALUES_MISMATCH; SSL_CTX_check_private_key below covers any other path.
    if (SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      unsigned long code = ERR_peek_last_error();
      if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        throw std::runtime_error("the TLS private key '" + options.key_file +
                                 "' does not match the certificate '" + options.cert_file + "'");
      }
      throw_load_error("private key", options.key_file);
    }
    if (SSL_CTX_check_private_key(ctx_) != 1) {
      throw_tls_error("the TLS private key '" + options.key_file +
                      "' does not match the certificate '" + options.cert_file + "'");
    }
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace parley::net
