#include "ws/frame.h"

#include <cstring>

namespace parley::ws {
namespace {

// Writes byte 1 and the extended length, returning the bytes written after byte 0.
size_t encode_length(uint8_t* out, uint8_t mask_bit, uint64_t payload_len) {
  if (payload_len <= 125) {
    out[0] = static_cast<uint8_t>(mask_bit | payload_len);
    return 1;
  }
  if (payload_len <= 0xFFFF) {
    out[0] = mask_bit | 126;
    out[1] = static_cast<uint8_t>(payload_len >> 8);
    out[2] = static_cast<uint8_t>(payload_len);
    return 3;
  }
  out[0] = mask_bit | 127;
  for (int i = 0; i < 8; ++i) {
    out[1 + i] = static_cast<uint8_t>(payload_len >> (56 - 8 * i));
  }
  return 9;
}

// Returns the length of the longest prefix of `text` of at most `max_len` bytes that does not
// end inside a UTF-8 sequence. It assumes `text` is valid UTF-8.
size_t utf8_prefix_length(std::string_view text, size_t max_len) {
  if (text.size() <= max_len) {
    return text.size();
  }
  size_t len = max_len;
  // Back up over continuation bytes (10xxxxxx) so the cut lands before a lead byte.
  while (len > 0 && (static_cast<uint8_t>(text[len]) & 0xC0) == 0x80) {
    --len;
  }
  return len;
}

}  // namespace

size_t encode_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_len, bool fin) {
  out[0] = static_cast<uint8_t>((fin ? kFinBit : 0) | static_cast<uint8_t>(opcode));
  return 1 + encode_length(out + 1, 0, payload_len);
}

std::string encode_frame(Opcode opcode, std::string_view payload) {
  uint8_t header[kMaxServerFrameHeader];
  const size_t header_len = encode_frame_header(header, opcode, payload.size());
  std::string frame;
  frame.resize(header_len + payload.size());
  std::memcpy(frame.data(), header, header_len);
  if (!payload.empty()) {
    std::memcpy(frame.data() + header_len, payload.data(), payload.size());
  }
  return frame;
}

std::string encode_close_frame(uint16_t code, std::string_view reason) {
  if (!is_sendable_close_code(code)) {
    return encode_frame(Opcode::kClose, {});
  }
  reason = reason.substr(0, utf8_prefix_length(reason, kMaxControlPayload - 2));
  char body[kMaxControlPayload];
  body[0] = static_cast<char>(code >> 8);
  body[1] = static_cast<char>(code & 0xFF);
  if (!reason.empty()) {
    std::memcpy(body + 2, reason.data(), reason.size());
  }
  return encode_frame(Opcode::kClose, std::string_view(body, 2 + reason.size()));
}

std::string encode_masked_frame(Opcode opcode, std::string_view payload, uint32_t mask_key,
                                bool fin, uint8_t rsv) {
  uint8_t header[kMaxFrameHeader];
  header[0] = static_cast<uint8_t>((fin ? kFinBit : 0) | (rsv & (kRsv1Bit | kRsv2Bit | kRsv3Bit)) |
                                   static_cast<uint8_t>(opcode));
  size_t header_len = 1 + encode_length(header + 1, kMaskBit, payload.size());
  for (int i = 0; i < 4; ++i) {
    header[header_len++] = static_cast<uint8_t>(mask_key >> (24 - 8 * i));
  }

  std::string frame;
  frame.resize(header_len + payload.size());
  std::memcpy(frame.data(), header, header_len);
  if (!payload.empty()) {
    std::memcpy(frame.data() + header_len, payload.data(), payload.size());
  }
  uint32_t key_in_wire_order;
  std::memcpy(&key_in_wire_order, header + header_len - 4, 4);
  apply_mask(frame.data() + header_len, payload.size(), key_in_wire_order);
  return frame;
}

void apply_mask(char* data, size_t len, uint32_t key_in_wire_order, size_t offset) {
  // Payload byte j is XORed with key byte j % 4 (§5.3). Rotating the key by offset % 4 lines
  // it up with data[0]; repeating it twice gives a 64-bit word to XOR 8 bytes at a time.
  uint8_t key[4];
  std::memcpy(key, &key_in_wire_order, 4);
  uint8_t pattern[8];
  for (size_t i = 0; i < 8; ++i) {
    pattern[i] = key[(offset + i) % 4];
  }
  uint64_t word_key;
  std::memcpy(&word_key, pattern, 8);

  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    word ^= word_key;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < len; ++i) {
    data[i] = static_cast<char>(data[i] ^ pattern[i % 8]);
  }
}

}  // namespace parley::ws
