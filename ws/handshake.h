#pragma once
// The server side of the WebSocket opening handshake (RFC 6455 §4.2). Pure functions over
// values: any thread may call them.

#include <string>
#include <string_view>

#include "net/http_message.h"

namespace parley::ws {

// The GUID that RFC 6455 §1.3 appends to the client's key before hashing.
inline constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// The only protocol version this server speaks (RFC 6455 §4.4, §11.6).
inline constexpr std::string_view kWebSocketVersion = "13";

// Computes Sec-WebSocket-Accept: base64(SHA-1(client_key + kAcceptGuid)) (RFC 6455 §4.2.2).
// For the §1.3 example key "dGhlIHNhbXBsZSBub25jZQ==" it returns
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
std::string compute_accept_key(std::string_view client_key);

// The verdict on an upgrade request.
struct HandshakeCheck {
  int status = 400;        // 101 accept, 400 malformed request, 426 unsupported version
  std::string accept_key;  // Sec-WebSocket-Accept value when status is 101
  std::string error;       // reason in plain English when status is not 101
};

// Checks a request against the server's reading rules of RFC 6455 §4.2.1: method GET,
// HTTP/1.1 or later, a Host header, Upgrade containing "websocket", Connection containing
// "Upgrade" (tokens compared case-insensitively), and a Sec-WebSocket-Key that is base64 of
// exactly 16 bytes, each failure answered with 400. A repeated Sec-WebSocket-Key or
// Sec-WebSocket-Version also gets 400 (§11.3.1, §11.3.5). A missing or other
// Sec-WebSocket-Version than 13 gets 426 so that the client learns the supported version
// (§4.4). The request path, Origin, subprotocols and authentication are the caller's business.
HandshakeCheck check_upgrade_request(const net::HttpRequest& request);

// Builds the complete "101 Switching Protocols" response (§4.2.2). `extra_headers` is
// inserted as is before the blank line, so each of its lines must end in "\r\n".
std::string build_accept_response(std::string_view accept_key, std::string_view extra_headers = {});

// Builds a complete error response with a text/plain body, Content-Length and
// "Connection: close". A 426 response also carries "Sec-WebSocket-Version: 13" (§4.4).
std::string build_reject_response(int status, std::string_view message);

}  // namespace parley::ws
