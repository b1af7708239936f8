#pragma once

// A minimal RFC 6455 client codec written for the load generator alone, so that a bug shared
// with the server's ws/ code cannot hide in the measurements.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::bench {

// xorshift64*: fast enough to draw a fresh masking key for every frame.
class XorShift {
 public:
  explicit XorShift(uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }

 private:
  uint64_t state_;
};

enum class Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// Returns the upgrade request for `path` and stores the Sec-WebSocket-Key it sent in `key`.
// A non-empty `extensions` is sent as the Sec-WebSocket-Extensions offer.
std::string build_upgrade_request(std::string_view host, std::string_view path, XorShift& rng,
                                  std::string& key, std::string_view extensions = {});

enum class HandshakeResult { kIncomplete, kAccepted, kRejected };

// Checks the server's response head in `input` (status 101 and a matching
// Sec-WebSocket-Accept). On kAccepted, `consumed` is the length of the head, and bytes after it
// are already frames. `extensions` then contains the Sec-WebSocket-Extensions value, or is
// empty without that header. On kRejected, `status` contains the status line.
HandshakeResult parse_upgrade_response(std::string_view input, std::string_view key,
                                       size_t& consumed, std::string& status,
                                       std::string& extensions);

// Appends one masked frame with FIN set to `out`. `rsv1` marks a compressed message
// (permessage-deflate, RFC 7692 §6).
void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload, XorShift& rng,
                         bool rsv1 = false);

struct ServerFrame {
  Opcode opcode;
  bool fin;
  bool rsv1;  // set on the first frame of a compressed message
  std::string_view payload;
};

enum class ParseResult { kIncomplete, kFrame, kInvalid };

// Parses one unmasked server frame at the start of `input`. On kFrame, `consumed` is its length
// and `frame.payload` points into `input`.
ParseResult parse_server_frame(std::string_view input, ServerFrame& frame, size_t& consumed);

}  // namespace parley::bench
