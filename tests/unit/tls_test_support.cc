#include "tests/unit/tls_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>

namespace parley::test {

namespace {
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + net::take_tls_error("no OpenSSL error"));
}

void write_pem(const std::string& path, const std::function<int(BIO*)>& write) {
  BIO* file = BIO_new_file(path.c_str(), "w");
  if (file == nullptr) {
    fail("cannot create " + path);
  }
  int ok = write(file);
  BIO_free(file);
  if (ok != 1) {
    fail("cannot write " + path);
  }
}
}  // namespace

TestCertificate::TestCertificate() {
  char pattern[] = "/tmp/parley-tls-unit-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  directory_ = pattern;
  cert_file_ = directory_ + "/cert.pem";
  key_file_ = directory_ + "/key.pem";

  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) {
    fail("cannot create a test key and certificate");
  }
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    fail("cannot sign the test certificate");
  }
  write_pem(cert_file_, [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
  write_pem(key_file_, [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  X509_free(cert);
  EVP_PKEY_free(key);
}

TestCertificate::~TestCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

LoopServer::LoopServer(std::shared_ptr<const net::TlsContext> tls,
                       net::TcpServer::AcceptCallback on_accept) {
  tcp_ = std::make_unique<net::TcpServer>(loop_, std::move(on_accept), std::move(tls));
  thread_ = std::thread([this] { loop_.run(); });
  run([this] {
    tcp_->listen(net::ListenAddress{"127.0.0.1", 0});
    port_ = tcp_->bound_port();
  });
}

LoopServer::~LoopServer() {
  run([this] { tcp_->shutdown(); });
  loop_.stop();
  thread_.join();
}

void LoopServer::run(const std::function<void()>& task) {
  std::promise<void> done;
  loop_.post([&] {
    task();
    done.set_value();
  });
  done.get_future().wait();
}

int connect_to(uint16_t port, int receive_buffer) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(std::string("socket failed: ") + std::strerror(errno));
  }
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::string reason = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed: " + reason);
  }
  return fd;
}

TlsClient::TlsClient(int fd, int version) : fd_(fd) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) {
    fail("SSL_CTX_new failed");
  }
  if (version != 0) {
    SSL_CTX_set_min_proto_version(ctx_, version);
    SSL_CTX_set_max_proto_version(ctx_, version);
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    fail("TLS client handshake failed");
  }
}

TlsClient::~TlsClient() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  ::close(fd_);
}

void TlsClient::write(std::string_view data) {
  size_t written = 0;
  if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1 || written != data.size()) {
    fail("TLS client write failed");
  }
}

std::string TlsClient::read(size_t size) {
  std::string data(size, '\0');
  size_t total = 0;
  while (total < size) {
    size_t count = 0;
    if (SSL_read_ex(ssl_, data.data() + total, size - total, &count) != 1) {
      break;
    }
    total += count;
  }
  data.resize(total);
  return data;
}

}  // namespace parley::test
