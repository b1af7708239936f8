#include "ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

namespace parley::ws {
namespace {

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Returns whether `key` is the base64 (RFC 4648 §4) encoding of exactly 16 bytes, as §4.2.1
// item 5 requires. 16 bytes encode as 22 characters plus "==". The 4 unused low bits of the
// last character are not checked, since RFC 4648 §3.5 lets a decoder accept them non-zero.
bool is_base64_of_16_bytes(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
    return false;
  }
  for (size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) {
      return false;
    }
  }
  return true;
}

size_t header_count(const net::HttpRequest& request, std::string_view lower_name) {
  return static_cast<size_t>(std::count_if(request.headers.begin(), request.headers.end(),
                                           [&](const auto& h) { return h.first == lower_name; }));
}

HandshakeCheck reject(int status, std::string error) {
  HandshakeCheck check;
  check.status = status;
  check.error = std::move(error);
  return check;
}

}  // namespace

std::string compute_accept_key(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + kAcceptGuid.size());
  input.append(client_key);
  input.append(kAcceptGuid);

  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());

  // A 20-byte digest encodes as 28 base64 characters; EVP_EncodeBlock adds a NUL.
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded;
  const int encoded_len = EVP_EncodeBlock(encoded.data(), digest.data(), SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded.data()),
                     static_cast<size_t>(encoded_len));
}

HandshakeCheck check_upgrade_request(const net::HttpRequest& request) {
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
  if (request.method != "GET") {
    return reject(400, "a WebSocket upgrade must use GET, not " + request.method);
  }
  if (request.version_minor < 1) {
    return reject(400, "a WebSocket upgrade needs HTTP/1.1 or later");
  }
  // Item 2: a Host header.
  if (!request.header("host")) {
    return reject(400, "missing Host header");
  }
  // Item 3: an Upgrade header containing the keyword "websocket", case-insensitively.
  if (!request.header_has_token("upgrade", "websocket")) {
    return reject(400, "the Upgrade header must contain \"websocket\"");
  }
  // Item 4: a Connection header containing the token "Upgrade", case-insensitively. It may
  // come in a list such as "keep-alive, Upgrade".
  if (!request.header_has_token("connection", "upgrade")) {
    return reject(400, "the Connection header must contain \"Upgrade\"");
  }
  // Item 5: a Sec-WebSocket-Key that decodes to 16 bytes.
  const auto key = request.header("sec-websocket-key");
  if (!key) {
    return reject(400, "missing Sec-WebSocket-Key header");
  }
  // §11.3.1 and §11.3.5: the key and the version must not appear more than once in a request.
  if (header_count(request, "sec-websocket-key") > 1) {
    return reject(400, "repeated Sec-WebSocket-Key header");
  }
  if (!is_base64_of_16_bytes(*key)) {
    return reject(400, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes");
  }
  // Item 6: Sec-WebSocket-Version 13. §4.4 answers any other version with a header listing
  // the supported ones, and a missing version gets the same answer so the client learns it.
  if (header_count(request, "sec-websocket-version") > 1) {
    return reject(400, "repeated Sec-WebSocket-Version header");
  }
  const auto version = request.header("sec-websocket-version");
  if (version != kWebSocketVersion) {
    return reject(426, "unsupported Sec-WebSocket-Version; this server supports version 13");
  }

  HandshakeCheck check;
  check.status = 101;
  check.accept_key = compute_accept_key(*key);
  return check;
}

std::string build_accept_response(std::string_view accept_key, std::string_view extra_headers) {
  std::string response;
  response.reserve(128 + extra_headers.size());
  response.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  response.append(accept_key);
  response.append("\r\n");
  response.append(extra_headers);
  response.append("\r\n");
  return response;
}

std::string build_reject_response(int status, std::string_view message) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " ";
  response.append(net::reason_phrase(status));
  response.append("\r\nContent-Type: text/plain; charset=utf-8\r\n");
  if (status == 426) {
    response.append("Sec-WebSocket-Version: ");
    response.append(kWebSocketVersion);
    response.append("\r\n");
  }
  response.append("Content-Length: " + std::to_string(message.size()) + "\r\n");
  response.append("Connection: close\r\n\r\n");
  response.append(message);
  return response;
}

}  // namespace parley::ws
