#include "ws/utf8.h"

#include <cstring>

namespace parley::ws {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Returns the length of the leading run of ASCII bytes, testing 8 bytes per step because chat
// text is mostly ASCII.
size_t ascii_prefix_length(const unsigned char* data, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    if ((word & kHighBits) != 0) {
      break;
    }
  }
  while (i < len && data[i] < 0x80) {
    ++i;
  }
  return i;
}

}  // namespace

bool Utf8Validator::feed(std::string_view bytes) {
  if (failed_) {
    return false;
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t len = bytes.size();
  size_t i = 0;
  while (i < len) {
    if (needed_ == 0) {
      i += ascii_prefix_length(data + i, len - i);
      if (i == len) {
        break;
      }
      // A lead byte opens a sequence. The ranges follow the grammar of RFC 3629 §4, so C0, C1
      // and F5-FF (never valid) and stray continuation bytes 80-BF all fail here.
      const unsigned char lead = data[i++];
      lower_ = 0x80;
      upper_ = 0xBF;
      if (lead >= 0xC2 && lead <= 0xDF) {
        needed_ = 1;
      } else if (lead >= 0xE0 && lead <= 0xEF) {
        needed_ = 2;
        if (lead == 0xE0) {
          lower_ = 0xA0;  // E0 80-9F would encode U+0000-U+07FF again (overlong)
        } else if (lead == 0xED) {
          upper_ = 0x9F;  // ED A0-BF would encode the surrogates U+D800-U+DFFF
        }
      } else if (lead >= 0xF0 && lead <= 0xF4) {
        needed_ = 3;
        if (lead == 0xF0) {
          lower_ = 0x90;  // F0 80-8F would encode U+0000-U+FFFF again (overlong)
        } else if (lead == 0xF4) {
          upper_ = 0x8F;  // F4 90-BF would encode code points above U+10FFFF
        }
      } else {
        failed_ = true;
        return false;
      }
      continue;
    }
    const unsigned char next = data[i++];
    if (next < lower_ || next > upper_) {
      failed_ = true;
      return false;
    }
    // Only the first continuation byte has a narrowed range.
    lower_ = 0x80;
    upper_ = 0xBF;
    --needed_;
  }
  return true;
}

bool is_valid_utf8(std::string_view text) {
  Utf8Validator validator;
  return validator.feed(text) && validator.at_boundary();
}

}  // namespace parley::ws
