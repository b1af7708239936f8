// Loading the certificate and key into the shared TLS context, and the protocol policy.

#include "net/tls_context.h"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "tests/unit/tls_test_support.h"

namespace parley::net {
namespace {

std::string load_error(const TlsOptions& options) {
  try {
    TlsContext context(options);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("tls context: loads a matching certificate and key") {
  test::TestCertificate certificate;
  TlsOptions options{certificate.cert_file(), certificate.key_file(), 1234};
  TlsContext context(options);
  REQUIRE(context.native() != nullptr);
  CHECK(context.handshake_timeout_ms() == 1234);
  CHECK(SSL_CTX_get_min_proto_version(context.native()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(context.native()) == TLS1_3_VERSION);
  CHECK((SSL_CTX_get_options(context.native()) & SSL_OP_NO_RENEGOTIATION) != 0);
}

TEST_CASE("tls context: TLS 1.2 offers only ECDHE with AEAD ciphers") {
  test::TestCertificate certificate;
  TlsContext context(TlsOptions{certificate.cert_file(), certificate.key_file()});
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(context.native());
  REQUIRE(ciphers != nullptr);
  int tls12_count = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    std::string name = SSL_CIPHER_get_name(cipher);
    INFO("cipher ", name);
    if (std::string(SSL_CIPHER_get_version(cipher)) == "TLSv1.3") {
      continue;  // TLS 1.3 suites are all AEAD with ephemeral key exchange
    }
    ++tls12_count;
    CHECK(name.rfind("ECDHE-", 0) == 0);
    CHECK(SSL_CIPHER_is_aead(cipher) == 1);
  }
  CHECK(tls12_count == 6);
}

TEST_CASE("tls context: missing certificate file names the path") {
  test::TestCertificate certificate;
  std::string missing = certificate.directory() + "/missing.pem";
  std::string error = load_error(TlsOptions{missing, certificate.key_file()});
  CHECK(error.find("certificate chain") != std::string::npos);
  CHECK(error.find(missing) != std::string::npos);
  CHECK(error.find("No such file or directory") != std::string::npos);
}

TEST_CASE("tls context: a file that is not PEM is reported as such") {
  test::TestCertificate certificate;
  std::string junk = certificate.directory() + "/junk.pem";
  std::ofstream(junk) << "not a certificate\n";
  std::string error = load_error(TlsOptions{junk, certificate.key_file()});
  CHECK(error.find(junk) != std::string::npos);
  CHECK(error.find("expected a PEM file") != std::string::npos);

  error = load_error(TlsOptions{certificate.cert_file(), junk});
  CHECK(error.find("private key") != std::string::npos);
  CHECK(error.find(junk) != std::string::npos);
}

TEST_CASE("tls context: key of another certificate rejected") {
  test::TestCertificate certificate;
  test::TestCertificate other;
  std::string error = load_error(TlsOptions{certificate.cert_file(), other.key_file()});
  CHECK(error.find("does not match the certificate") != std::string::npos);
  CHECK(error.find(other.key_file()) != std::string::npos);
}

}  // namespace
}  // namespace parley::net
