#include "net/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "net/tls_context.h"

namespace parley::net {

TlsStream::TlsStream(const TlsContext& context, int fd) {
  ERR_clear_error();
  ssl_ = SSL_new(context.native());
  if (ssl_ == nullptr) {
    throw std::runtime_error("SSL_new failed: " + take_tls_error("out of memory"));
  }
  if (SSL_set_fd(ssl_, fd) != 1) {
    SSL_free(ssl_);
    throw std::runtime_error("SSL_set_fd failed: " + take_tls_error("out of memory"));
  }
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

// OpenSSL reports errors through a per-thread queue that must be empty before each call, or
// SSL_get_error may blame this call for an earlier failure on the same thread (for example a
// hash computed by the WebSocket handshake). errno is cleared so that SSL_ERROR_SYSCALL shows
// this call's socket error.
void TlsStream::clear_errors() {
  ERR_clear_error();
  errno = 0;
}

TlsStatus TlsStream::handshake() {
  clear_errors();
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    return TlsStatus::kOk;
  }
  return classify(result);
}

TlsStatus TlsStream::read(char* out, size_t capacity, size_t& count) {
  clear_errors();
  count = 0;
  int result = SSL_read_ex(ssl_, out, capacity, &count);
  if (result == 1) {
    return TlsStatus::kOk;
  }
  return classify(result);
}

TlsStatus TlsStream::write(const char* data, size_t size, size_t& count) {
  clear_errors();
  count = 0;
  int result = SSL_write_ex(ssl_, data, size, &count);
  if (result == 1) {
    return TlsStatus::kOk;
  }
  return classify(result);
}

void TlsStream::send_close_notify() {
  if (!established_) {
    return;  // SSL_shutdown fails during a handshake, and there is no session to close
  }
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool TlsStream::has_pending() const {
  return SSL_has_pending(ssl_) == 1;
}

std::string TlsStream::description() const {
  std::string text = SSL_get_version(ssl_);
  text.push_back(' ');
  text.append(SSL_get_cipher_name(ssl_));
  return text;
}

TlsStatus TlsStream::classify(int result) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return TlsStatus::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsStatus::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsStatus::kClosed;
    case SSL_ERROR_SYSCALL:
      // A socket error. OpenSSL 3 reports an EOF in the middle of a record as SSL_ERROR_SSL.
      error_ = saved_errno != 0 ? std::strerror(saved_errno) : "peer closed the connection";
      error_ = take_tls_error(error_.c_str());
      return TlsStatus::kError;
    default:
      error_ = take_tls_error("unknown OpenSSL error");
      return TlsStatus::kError;
  }
}

}  // namespace parley::net
