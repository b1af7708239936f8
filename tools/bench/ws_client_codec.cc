#include "tools/bench/ws_client_codec.h"

#include <openssl/sha.h>

#include <cstring>
#include <strings.h>

namespace parley::bench {
namespace {

std::string base64(const unsigned char* data, size_t size) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < size; i += 3) {
    uint32_t chunk = uint32_t{data[i]} << 16;
    if (i + 1 < size) chunk |= uint32_t{data[i + 1]} << 8;
    if (i + 2 < size) chunk |= data[i + 2];
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

std::string expected_accept(std::string_view key) {
  std::string text(key);
  text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // the GUID fixed by RFC 6455, section 1.3
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64(digest, sizeof digest);
}

// Returns the value of header `name` in `head`, or an empty view.
std::string_view header_value(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return value;
    }
    pos = end;
  }
  return {};
}

}  // namespace

std::string build_upgrade_request(std::string_view host, std::string_view path, XorShift& rng,
                                  std::string& key, std::string_view extensions) {
  unsigned char nonce[16];
  uint64_t a = rng.next();
  uint64_t b = rng.next();
  std::memcpy(nonce, &a, 8);
  std::memcpy(nonce + 8, &b, 8);
  key = base64(nonce, sizeof nonce);
  std::string request = "GET ";
  request += path;
  request += " HTTP/1.1\r\nHost: ";
  request += host;
  request +=
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ";
  request += key;
  if (!extensions.empty()) {
    request += "\r\nSec-WebSocket-Extensions: ";
    request += extensions;
  }
  request += "\r\n\r\n";
  return request;
}

HandshakeResult parse_upgrade_response(std::string_view input, std::string_view key,
                                       size_t& consumed, std::string& status,
                                       std::string& extensions) {
  size_t end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) return HandshakeResult::kIncomplete;
  std::string_view head = input.substr(0, end + 2);
  status = std::string(head.substr(0, head.find("\r\n")));
  if (status.rfind("HTTP/1.1 101", 0) != 0) return HandshakeResult::kRejected;
  if (header_value(head, "Sec-WebSocket-Accept") != expected_accept(key)) {
    status += " (Sec-WebSocket-Accept does not match the key)";
    return HandshakeResult::kRejected;
  }
  extensions = std::string(header_value(head, "Sec-WebSocket-Extensions"));
  consumed = end + 4;
  return HandshakeResult::kAccepted;
}

void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         XorShift& rng, bool rsv1) {
  size_t size = payload.size();
  out += static_cast<char>(0x80 | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(opcode));
  if (size < 126) {
    out += static_cast<char>(0x80 | size);
  } else if (size <= 0xffff) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(size >> 8);
    out += static_cast<char>(size & 0xff);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  }
  uint32_t mask_word = static_cast<uint32_t>(rng.next());
  unsigned char mask[4];
  std::memcpy(mask, &mask_word, 4);
  out.append(reinterpret_cast<const char*>(mask), 4);
  size_t start = out.size();
  out.append(payload);
  char* data = out.data() + start;
  for (size_t i = 0; i < size; ++i) data[i] ^= static_cast<char>(mask[i & 3]);
}

ParseResult parse_server_frame(std::string_view input, ServerFrame& frame, size_t& consumed) {
  if (input.size() < 2) return ParseResult::kIncomplete;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(input[i]); };
  if (byte(1) & 0x80) return ParseResult::kInvalid;  // servers must not mask (RFC 6455, 5.1)
  uint64_t size = byte(1) & 0x7f;
  size_t header = 2;
  if (size == 126) {
    if (input.size() < 4) return ParseResult::kIncomplete;
    size = (uint64_t{byte(2)} << 8) | byte(3);
    header = 4;
  } else if (size == 127) {
    if (input.size() < 10) return ParseResult::kIncomplete;
    size = 0;
    for (size_t i = 2; i < 10; ++i) size = (size << 8) | byte(i);
    header = 10;
  }
  if (input.size() - header < size) return ParseResult::kIncomplete;
  frame.fin = (byte(0) & 0x80) != 0;
  frame.rsv1 = (byte(0) & 0x40) != 0;
  frame.opcode = static_cast<Opcode>(byte(0) & 0x0f);
  frame.payload = input.substr(header, size);
  consumed = header + size;
  return ParseResult::kFrame;
}

}  // namespace parley::bench
