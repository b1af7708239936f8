#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "ws/utf8.h"

namespace parley::ws {
namespace {

struct Sample {
  const char* name;
  std::string_view bytes;
};

const Sample kValid[] = {
    {"empty", ""},
    {"ASCII", "Hello, world"},
    {"U+0000", std::string_view("\x00", 1)},
    {"U+007F", "\x7F"},
    {"U+0080, first 2-byte", "\xC2\x80"},
    {"U+00E9", "\xC3\xA9"},
    {"U+07FF, last 2-byte", "\xDF\xBF"},
    {"U+0800, first 3-byte", "\xE0\xA0\x80"},
    {"U+20AC euro sign", "\xE2\x82\xAC"},
    {"U+D7FF, below the surrogates", "\xED\x9F\xBF"},
    {"U+E000, above the surrogates", "\xEE\x80\x80"},
    {"U+FFFD", "\xEF\xBF\xBD"},
    {"U+FFFF", "\xEF\xBF\xBF"},
    {"U+10000, first 4-byte", "\xF0\x90\x80\x80"},
    {"U+1D11E musical symbol", "\xF0\x9D\x84\x9E"},
    {"U+10FFFF, last code point", "\xF4\x8F\xBF\xBF"},
    {"Greek kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"},
    {"mixed text", "caf\xC3\xA9 \xF0\x9F\x98\x80 and more ASCII after it, \xE2\x82\xAC 5"},
};

const Sample kInvalid[] = {
    {"lone continuation 80", "\x80"},
    {"lone continuation BF", "\xBF"},
    {"overlong C0 80 (U+0000)", "\xC0\x80"},
    {"overlong C1 BF (U+007F)", "\xC1\xBF"},
    {"overlong E0 80 80", "\xE0\x80\x80"},
    {"overlong E0 9F BF (U+07FF)", "\xE0\x9F\xBF"},
    {"overlong F0 80 80 80", "\xF0\x80\x80\x80"},
    {"overlong F0 8F BF BF (U+FFFF)", "\xF0\x8F\xBF\xBF"},
    {"surrogate U+D800", "\xED\xA0\x80"},
    {"surrogate U+DBFF", "\xED\xAF\xBF"},
    {"surrogate U+DC00", "\xED\xB0\x80"},
    {"surrogate U+DFFF", "\xED\xBF\xBF"},
    {"surrogate pair", "\xED\xA0\xBD\xED\xB8\x80"},
    {"U+110000", "\xF4\x90\x80\x80"},
    {"F5 lead", "\xF5\x80\x80\x80"},
    {"F8 five-byte form", "\xF8\x88\x80\x80\x80"},
    {"FE", "\xFE"},
    {"FF", "\xFF"},
    {"truncated 2-byte", "\xC3"},
    {"truncated 3-byte after 1", "\xE2"},
    {"truncated 3-byte after 2", "\xE2\x82"},
    {"truncated 4-byte after 3", "\xF0\x9D\x84"},
    {"lead followed by ASCII",
     "\xC3"
     "A"},
    {"3-byte lead followed by ASCII",
     "\xE2\x82"
     "A"},
    {"extra continuation", "\xC3\xA9\xA9"},
};

}  // namespace

TEST_CASE("valid UTF-8 samples") {
  for (const Sample& sample : kValid) {
    CAPTURE(sample.name);
    CHECK(is_valid_utf8(sample.bytes));
  }
}

TEST_CASE("invalid UTF-8 samples") {
  for (const Sample& sample : kInvalid) {
    CAPTURE(sample.name);
    CHECK_FALSE(is_valid_utf8(sample.bytes));
  }
}

TEST_CASE("samples after and before ASCII runs") {
  // Prefixes of 7, 8, 9 and 17 bytes put the sample at every position of the 8-byte ASCII scan.
  for (size_t prefix_len : {1, 7, 8, 9, 17}) {
    const std::string prefix(prefix_len, 'p');
    const std::string suffix(11, 's');
    for (const Sample& sample : kValid) {
      CAPTURE(prefix_len);
      CAPTURE(sample.name);
      CHECK(is_valid_utf8(prefix + std::string(sample.bytes) + suffix));
    }
    for (const Sample& sample : kInvalid) {
      CAPTURE(prefix_len);
      CAPTURE(sample.name);
      CHECK_FALSE(is_valid_utf8(prefix + std::string(sample.bytes) + suffix));
    }
  }
}

TEST_CASE("long ASCII text is valid") {
  CHECK(is_valid_utf8(std::string(1000, 'a')));
  CHECK_FALSE(is_valid_utf8(std::string(1000, 'a') + "\x80"));
}

TEST_CASE("validator across every split point") {
  for (const Sample& sample : kValid) {
    for (size_t split = 0; split <= sample.bytes.size(); ++split) {
      CAPTURE(sample.name);
      CAPTURE(split);
      Utf8Validator validator;
      CHECK(validator.feed(sample.bytes.substr(0, split)));
      CHECK(validator.feed(sample.bytes.substr(split)));
      CHECK(validator.at_boundary());
    }
  }
}

TEST_CASE("validator one byte at a time") {
  const std::string_view text =
      "a\xC3\xA9"
      "b\xE2\x82\xAC"
      "c\xF0\x9D\x84\x9E";
  // at_boundary() after each byte: true only after ASCII bytes and completed sequences.
  const bool expected_boundary[] = {true, false, true,  true,  false, false,
                                    true, true,  false, false, false, true};
  REQUIRE(text.size() == std::size(expected_boundary));
  Utf8Validator validator;
  for (size_t i = 0; i < text.size(); ++i) {
    CAPTURE(i);
    CHECK(validator.feed(text.substr(i, 1)));
    CHECK(validator.at_boundary() == expected_boundary[i]);
  }
}

TEST_CASE("validator fails at the first invalid byte") {
  // The piece holding ED A0 (the start of a surrogate) fails even though the message, and the
  // piece itself, goes on: no valid text can start this way.
  Utf8Validator validator;
  CHECK(validator.feed("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
  CHECK(validator.feed("\xED"));
  CHECK_FALSE(validator.feed("\xA0"));
  CHECK_FALSE(validator.at_boundary());
}

TEST_CASE("validator fails in the middle of a piece") {
  Utf8Validator validator;
  CHECK(validator.feed("edited "));
  CHECK_FALSE(validator.feed("hello \xF4\x90 and the rest of the piece"));
}

TEST_CASE("validator rejects a truncated prefix only at the end") {
  Utf8Validator validator;
  CHECK(validator.feed("\xF0\x9D"));
  CHECK_FALSE(validator.at_boundary());
  CHECK(validator.feed("\x84"));
  CHECK_FALSE(validator.at_boundary());
  CHECK(validator.feed("\x9E"));
  CHECK(validator.at_boundary());
}

TEST_CASE("validator stays failed until reset") {
  Utf8Validator validator;
  CHECK_FALSE(validator.feed("\xFF"));
  CHECK_FALSE(validator.feed("plain ASCII"));
  CHECK_FALSE(validator.at_boundary());
  validator.reset();
  CHECK(validator.feed("plain ASCII"));
  CHECK(validator.at_boundary());
}

TEST_CASE("validator narrows only the first continuation byte") {
  // E0 needs A0-BF second, but its third byte may be any of 80-BF.
  Utf8Validator validator;
  CHECK(validator.feed("\xE0\xA0"));
  CHECK(validator.feed("\x80"));
  CHECK(validator.at_boundary());
}

}  // namespace parley::ws
