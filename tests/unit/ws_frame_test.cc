#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame.h"
#include "ws/utf8.h"

namespace parley::ws {
namespace {

std::string bytes(std::initializer_list<uint8_t> list) {
  return std::string(list.begin(), list.end());
}

// Masks one byte at a time, exactly as RFC 6455 §5.3 states it: byte i is XORed with key
// byte i % 4, where i counts from the start of the payload.
void reference_mask(char* data, size_t len, const uint8_t key[4], size_t offset) {
  for (size_t i = 0; i < len; ++i) {
    data[i] = static_cast<char>(data[i] ^ key[(offset + i) % 4]);
  }
}

std::string pattern_payload(size_t len) {
  std::string payload(len, '\0');
  for (size_t i = 0; i < len; ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
}

}  // namespace

TEST_CASE("frame header at every length boundary") {
  struct Case {
    uint64_t payload_len;
    size_t header_len;
    uint8_t length7;
  };
  const Case cases[] = {{0, 2, 0},        {1, 2, 1},        {125, 2, 125},
                        {126, 4, 126},    {127, 4, 126},    {65535, 4, 126},
                        {65536, 10, 127}, {70000, 10, 127}, {uint64_t{1} << 32, 10, 127}};
  for (const Case& c : cases) {
    CAPTURE(c.payload_len);
    uint8_t header[kMaxServerFrameHeader] = {};
    const size_t header_len = encode_frame_header(header, Opcode::kBinary, c.payload_len);
    CHECK(header_len == c.header_len);
    CHECK(header[0] == 0x82);
    CHECK(header[1] == c.length7);
    uint64_t decoded = c.length7;
    if (header_len > 2) {
      decoded = 0;
      for (size_t i = 2; i < header_len; ++i) {
        decoded = (decoded << 8) | header[i];
      }
    }
    CHECK(decoded == c.payload_len);
  }
}

TEST_CASE("frame header without FIN") {
  uint8_t header[kMaxServerFrameHeader] = {};
  CHECK(encode_frame_header(header, Opcode::kText, 3, false) == 2);
  CHECK(header[0] == 0x01);
  CHECK(header[1] == 0x03);
}

TEST_CASE("RFC 6455 section 5.7 examples") {
  // A single-frame unmasked text message.
  CHECK(encode_frame(Opcode::kText, "Hello") == bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  // A single-frame masked text message.
  CHECK(encode_masked_frame(Opcode::kText, "Hello", 0x37fa213d) ==
        bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  // A fragmented unmasked text message.
  uint8_t header[kMaxServerFrameHeader];
  CHECK(encode_frame_header(header, Opcode::kText, 3, false) == 2);
  CHECK(header[0] == 0x01);
  CHECK(encode_frame_header(header, Opcode::kContinuation, 2, true) == 2);
  CHECK(header[0] == 0x80);
  // Unmasked Ping.
  CHECK(encode_frame(Opcode::kPing, "Hello") == bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  // 256 bytes and 64 KiB binary messages.
  CHECK(encode_frame(Opcode::kBinary, std::string(256, 'x')).substr(0, 4) ==
        bytes({0x82, 0x7E, 0x01, 0x00}));
  CHECK(encode_frame(Opcode::kBinary, std::string(65536, 'x')).substr(0, 10) ==
        bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
}

TEST_CASE("encoded frame carries the payload") {
  for (size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    CAPTURE(len);
    const std::string payload = pattern_payload(len);
    const std::string frame = encode_frame(Opcode::kBinary, payload);
    const size_t header_len = len <= 125 ? 2 : (len <= 65535 ? 4 : 10);
    CHECK(frame.size() == header_len + len);
    CHECK(frame.substr(header_len) == payload);
  }
}

TEST_CASE("masked frame at every length boundary") {
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  for (size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    CAPTURE(len);
    const std::string payload = pattern_payload(len);
    const std::string frame = encode_masked_frame(Opcode::kText, payload, 0x12345678);
    const size_t header_len = (len <= 125 ? 2 : (len <= 65535 ? 4 : 10)) + 4;
    REQUIRE(frame.size() == header_len + len);
    CHECK(static_cast<uint8_t>(frame[0]) == 0x81);
    CHECK((static_cast<uint8_t>(frame[1]) & kMaskBit) != 0);
    CHECK(frame.substr(header_len - 4, 4) == bytes({0x12, 0x34, 0x56, 0x78}));
    std::string unmasked = frame.substr(header_len);
    reference_mask(unmasked.data(), unmasked.size(), key, 0);
    CHECK(unmasked == payload);
  }
}

TEST_CASE("masked frame with RSV bits and without FIN") {
  const std::string frame =
      encode_masked_frame(Opcode::kBinary, "x", 0, false, kRsv1Bit | kRsv3Bit);
  CHECK(static_cast<uint8_t>(frame[0]) == 0x52);
}

TEST_CASE("close frame with code and reason") {
  CHECK(encode_close_frame(1000, "bye") == bytes({0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'}));
  CHECK(encode_close_frame(CloseCode::kMessageTooBig) == bytes({0x88, 0x02, 0x03, 0xF1}));
  CHECK(encode_close_frame(4999) == bytes({0x88, 0x02, 0x13, 0x87}));
}

TEST_CASE("close frame with a code that must not be sent") {
  for (uint16_t code : std::vector<uint16_t>{0, 999, 1004, 1005, 1006, 1015, 2000, 5000}) {
    CAPTURE(code);
    CHECK(encode_close_frame(code, "ignored") == bytes({0x88, 0x00}));
  }
}

TEST_CASE("close reason cut at a character boundary") {
  // 62 two-byte characters are 124 bytes; the first 123 bytes would end inside one.
  std::string reason;
  for (int i = 0; i < 62; ++i) {
    reason += "\xC3\xA9";
  }
  const std::string frame = encode_close_frame(CloseCode::kNormal, reason);
  REQUIRE(frame.size() >= 4);
  CHECK(static_cast<uint8_t>(frame[1]) == 2 + 122);
  CHECK(frame.size() == 2 + 2 + 122);
  CHECK(is_valid_utf8(std::string_view(frame).substr(4)));

  const std::string ascii_frame = encode_close_frame(CloseCode::kNormal, std::string(200, 'r'));
  CHECK(static_cast<uint8_t>(ascii_frame[1]) == kMaxControlPayload);
  CHECK(ascii_frame.size() == 2 + kMaxControlPayload);
}

TEST_CASE("apply_mask matches the byte-at-a-time reference") {
  const uint8_t key[4] = {0xA1, 0x02, 0xF3, 0x5C};
  uint32_t key_in_wire_order;
  std::memcpy(&key_in_wire_order, key, 4);
  const std::string original = pattern_payload(72);
  // GCC 12 at -O3 unmasks 16 bytes per step from 40 bytes on, so lengths up to 64 run the
  // vector loop and every tail after it.
  for (size_t offset = 0; offset < 12; ++offset) {
    for (size_t len = 0; len <= 64; ++len) {
      // Every start address within a word, so unaligned loads and stores are exercised.
      for (size_t start = 0; start < 8; ++start) {
        CAPTURE(offset);
        CAPTURE(len);
        CAPTURE(start);
        std::string fast = original;
        std::string slow = original;
        apply_mask(fast.data() + start, len, key_in_wire_order, offset);
        reference_mask(slow.data() + start, len, key, offset);
        CHECK(fast == slow);
      }
    }
  }
}

TEST_CASE("apply_mask in two pieces equals one pass") {
  const uint8_t key[4] = {0x01, 0x80, 0x7F, 0xFE};
  uint32_t key_in_wire_order;
  std::memcpy(&key_in_wire_order, key, 4);
  const std::string original = pattern_payload(37);
  std::string whole = original;
  apply_mask(whole.data(), whole.size(), key_in_wire_order, 0);
  for (size_t split = 0; split <= original.size(); ++split) {
    CAPTURE(split);
    std::string pieces = original;
    apply_mask(pieces.data(), split, key_in_wire_order, 0);
    apply_mask(pieces.data() + split, pieces.size() - split, key_in_wire_order, split);
    CHECK(pieces == whole);
  }
}

TEST_CASE("apply_mask twice restores the payload") {
  std::string payload = pattern_payload(70000);
  const std::string original = payload;
  apply_mask(payload.data(), payload.size(), 0xDEADBEEF, 5);
  CHECK(payload != original);
  apply_mask(payload.data(), payload.size(), 0xDEADBEEF, 5);
  CHECK(payload == original);
}

TEST_CASE("opcode classification") {
  for (uint8_t opcode = 0; opcode < 16; ++opcode) {
    CAPTURE(static_cast<int>(opcode));
    const bool defined = opcode <= 2 || (opcode >= 8 && opcode <= 10);
    CHECK(is_defined_opcode(opcode) == defined);
  }
  CHECK(is_control(Opcode::kClose));
  CHECK(is_control(Opcode::kPing));
  CHECK(is_control(Opcode::kPong));
  CHECK_FALSE(is_control(Opcode::kText));
  CHECK_FALSE(is_control(Opcode::kBinary));
  CHECK_FALSE(is_control(Opcode::kContinuation));
}

}  // namespace parley::ws
