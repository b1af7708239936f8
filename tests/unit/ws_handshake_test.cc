#include <doctest/doctest.h>

#include <string>

#include "net/http_message.h"
#include "ws/handshake.h"

namespace parley::ws {
namespace {

// A request that passes every check of RFC 6455 §4.2.1, with the key from §1.3.
net::HttpRequest make_upgrade_request() {
  net::HttpRequest request;
  request.method = "GET";
  request.target = "/chat";
  request.path = "/chat";
  request.version_minor = 1;
  request.headers = {
      {"host", "server.example.com"},   {"upgrade", "websocket"},
      {"connection", "Upgrade"},        {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
      {"origin", "http://example.com"}, {"sec-websocket-version", "13"},
  };
  return request;
}

void remove_header(net::HttpRequest& request, std::string_view name) {
  std::erase_if(request.headers, [&](const auto& header) { return header.first == name; });
}

void set_header(net::HttpRequest& request, std::string_view name, std::string value) {
  remove_header(request, name);
  request.headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

TEST_CASE("accept key of the RFC 6455 example") {
  CHECK(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("upgrade request accepted") {
  const HandshakeCheck check = check_upgrade_request(make_upgrade_request());
  CHECK(check.status == 101);
  CHECK(check.accept_key == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(check.error.empty());
}

TEST_CASE("upgrade tokens compared case-insensitively") {
  net::HttpRequest request = make_upgrade_request();
  set_header(request, "upgrade", "WebSocket");
  set_header(request, "connection", "keep-alive, upgrade");
  const HandshakeCheck check = check_upgrade_request(request);
  CHECK(check.status == 101);
  CHECK(check.accept_key == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("upgrade request with a later HTTP version accepted") {
  net::HttpRequest request = make_upgrade_request();
  request.version_minor = 2;
  CHECK(check_upgrade_request(request).status == 101);
}

TEST_CASE("upgrade rejections") {
  struct Case {
    const char* name;
    void (*change)(net::HttpRequest&);
    int status;
  };
  const Case cases[] = {
      {"POST method", [](net::HttpRequest& r) { r.method = "POST"; }, 400},
      {"lower-case method", [](net::HttpRequest& r) { r.method = "get"; }, 400},
      {"HTTP/1.0", [](net::HttpRequest& r) { r.version_minor = 0; }, 400},
      {"no Host", [](net::HttpRequest& r) { remove_header(r, "host"); }, 400},
      {"no Upgrade", [](net::HttpRequest& r) { remove_header(r, "upgrade"); }, 400},
      {"Upgrade h2c", [](net::HttpRequest& r) { set_header(r, "upgrade", "h2c"); }, 400},
      {"no Connection", [](net::HttpRequest& r) { remove_header(r, "connection"); }, 400},
      {"Connection keep-alive only",
       [](net::HttpRequest& r) { set_header(r, "connection", "keep-alive"); }, 400},
      {"no key", [](net::HttpRequest& r) { remove_header(r, "sec-websocket-key"); }, 400},
      {"empty key", [](net::HttpRequest& r) { set_header(r, "sec-websocket-key", ""); }, 400},
      {"key of 15 bytes",
       [](net::HttpRequest& r) { set_header(r, "sec-websocket-key", "AAAAAAAAAAAAAAAAAAAA"); },
       400},
      {"key of 17 bytes",
       [](net::HttpRequest& r) { set_header(r, "sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAAA="); },
       400},
      {"key with a character outside base64",
       [](net::HttpRequest& r) { set_header(r, "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZ!=="); },
       400},
      {"key of 24 characters without padding",
       [](net::HttpRequest& r) { set_header(r, "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQAA"); },
       400},
      {"version 8", [](net::HttpRequest& r) { set_header(r, "sec-websocket-version", "8"); }, 426},
      {"version 14", [](net::HttpRequest& r) { set_header(r, "sec-websocket-version", "14"); },
       426},
      {"no version", [](net::HttpRequest& r) { remove_header(r, "sec-websocket-version"); }, 426},
      {"repeated key",
       [](net::HttpRequest& r) {
         r.headers.emplace_back("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
       },
       400},
      {"repeated version",
       [](net::HttpRequest& r) { r.headers.emplace_back("sec-websocket-version", "13"); }, 400},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    net::HttpRequest request = make_upgrade_request();
    c.change(request);
    const HandshakeCheck check = check_upgrade_request(request);
    CHECK(check.status == c.status);
    CHECK(check.accept_key.empty());
    CHECK_FALSE(check.error.empty());
  }
}

TEST_CASE("accept response bytes") {
  CHECK(build_accept_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "\r\n");
}

TEST_CASE("accept response with extra headers") {
  CHECK(build_accept_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Protocol: chat\r\n") ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "Sec-WebSocket-Protocol: chat\r\n"
        "\r\n");
}

TEST_CASE("reject response for an unsupported version") {
  const std::string response = build_reject_response(426, "use version 13");
  CHECK(response.starts_with("HTTP/1.1 426 "));
  CHECK(response.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
  CHECK(response.find("\r\nContent-Length: 14\r\n") != std::string::npos);
  CHECK(response.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(response.ends_with("\r\n\r\nuse version 13"));
}

TEST_CASE("reject response for a bad request") {
  const std::string response = build_reject_response(400, "missing Host header");
  CHECK(response.starts_with("HTTP/1.1 400 "));
  CHECK(response.find("Sec-WebSocket-Version") == std::string::npos);
  CHECK(response.find("\r\nContent-Length: 19\r\n") != std::string::npos);
  CHECK(response.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(response.ends_with("\r\n\r\nmissing Host header"));
}

}  // namespace parley::ws
