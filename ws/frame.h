#pragma once
// WebSocket frame encoding (RFC 6455 §5.2) and masking (§5.3). Pure functions over caller
// buffers: any thread may call them.
//
//   byte 0: FIN | RSV1 | RSV2 | RSV3 | opcode (4 bits)
//   byte 1: MASK | payload length (7 bits: 0-125, or 126 = 16-bit length follows,
//           127 = 64-bit length follows), all lengths in network byte order
//   then the 4-byte masking key when MASK is set, then the payload.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ws/close_code.h"

namespace parley::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Returns whether the opcode is one that §5.2 defines. 3-7 and 11-15 are reserved.
constexpr bool is_defined_opcode(uint8_t opcode) {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// Control frames (Close, Ping, Pong) have the high bit of the opcode set (§5.5).
constexpr bool is_control(Opcode opcode) {
  return (static_cast<uint8_t>(opcode) & 0x8) != 0;
}

// Bits of byte 0 and byte 1.
inline constexpr uint8_t kFinBit = 0x80;
inline constexpr uint8_t kRsv1Bit = 0x40;
inline constexpr uint8_t kRsv2Bit = 0x20;
inline constexpr uint8_t kRsv3Bit = 0x10;
inline constexpr uint8_t kOpcodeBits = 0x0F;
inline constexpr uint8_t kMaskBit = 0x80;

// Control frame payloads are at most 125 bytes, so their length always fits in byte 1 (§5.5).
inline constexpr size_t kMaxControlPayload = 125;
// The longest header: 2 bytes, a 64-bit length and a masking key.
inline constexpr size_t kMaxFrameHeader = 14;
// The longest header a server sends: server frames are never masked (§5.1).
inline constexpr size_t kMaxServerFrameHeader = 10;

// Writes the header of an unmasked (server) frame to `out`, which must have room for
// kMaxServerFrameHeader bytes, and returns its length: 2, 4 or 10. The length uses the
// shortest of the 7-, 16- and 64-bit forms, as §5.2 requires of a sender.
size_t encode_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_len, bool fin = true);

// Returns a complete unmasked frame with FIN set. One allocation.
std::string encode_frame(Opcode opcode, std::string_view payload);

// Returns a Close frame whose body is the 2-byte code in network byte order and the reason
// (§5.5.1). The reason is cut to 123 bytes at a UTF-8 character boundary so the body fits the
// 125-byte control limit. A code that must not be sent (1005, 1006, 1015 or outside
// 1000-4999, see is_sendable_close_code) gives a Close frame with an empty body instead.
std::string encode_close_frame(uint16_t code, std::string_view reason = {});
inline std::string encode_close_frame(CloseCode code, std::string_view reason = {}) {
  return encode_close_frame(to_uint(code), reason);
}

// Returns a masked (client) frame, for tests and client tools. The masking key bytes on the
// wire are the big-endian bytes of `mask_key`, so 0x37FA213D gives 37 FA 21 3D as in the §5.7
// examples. `rsv` is ORed into byte 0 (kRsv1Bit...) to build frames that a server must
// reject. Real clients must draw each key from a strong random source (§5.3).
std::string encode_masked_frame(Opcode opcode, std::string_view payload, uint32_t mask_key,
                                bool fin = true, uint8_t rsv = 0);

// XORs `len` bytes of payload with the masking key (§5.3), in place; masking and unmasking are
// the same operation. `key_in_wire_order` holds the 4 key bytes in the order they appear in
// the frame, copied into the integer as they are (memcpy, no byte swap). `offset` is the
// position of data[0] within the frame's payload, so a payload can be unmasked in pieces.
void apply_mask(char* data, size_t len, uint32_t key_in_wire_order, size_t offset = 0);

}  // namespace parley::ws
