#pragma once
// UTF-8 validation for text messages and close reasons. RFC 6455 §8.1 makes a text message
// that is not valid UTF-8 (RFC 3629) fail the connection with 1007.
//
// Valid means the UTF8-octets grammar of RFC 3629 §4: no overlong forms, no surrogates
// (U+D800-U+DFFF), nothing above U+10FFFF and no sequence cut short.

#include <cstdint>
#include <string_view>

namespace parley::ws {

// Returns whether `text` is complete, valid UTF-8. Any thread may call it.
bool is_valid_utf8(std::string_view text);

// Incremental validator for a message that arrives in pieces (fragments, or parts of one
// frame). It fails as soon as the bytes seen so far cannot begin any valid UTF-8 text, so a
// server can close the connection without waiting for the rest of the message. A plain value
// owned by one connection; not safe for concurrent use.
class Utf8Validator {
 public:
  // Checks the next bytes of the text. Returns false when the bytes fed since the last reset()
  // are not a prefix of valid UTF-8; after that, feed() keeps returning false until reset().
  [[nodiscard]] bool feed(std::string_view bytes);

  // Returns true when no multi-byte sequence is open, that is when the text fed so far is
  // complete valid UTF-8 on its own. A message is valid when feed() succeeded for every piece
  // and at_boundary() is true after the last one.
  bool at_boundary() const { return needed_ == 0 && !failed_; }

  void reset() { *this = Utf8Validator{}; }

 private:
  uint8_t needed_ = 0;    // continuation bytes still expected in the open sequence
  uint8_t lower_ = 0x80;  // allowed range of the next continuation byte: RFC 3629 §4 narrows
  uint8_t upper_ = 0xBF;  // it after E0, ED, F0 and F4 (overlongs, surrogates, > U+10FFFF)
  bool failed_ = false;
};

}  // namespace parley::ws
