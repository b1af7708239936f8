#pragma once
// Deterministic sample text for the micro-benchmarks: chat-like English and mixed-script
// UTF-8 of an exact byte length. The same seed gives the same bytes on every run, so figures
// from two runs measure the same input.

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

namespace parley::bench {

// Returns `size` bytes of ASCII chat text: lower-case words, spaces and some punctuation.
inline std::string ascii_chat_text(size_t size, unsigned seed = 1) {
  static constexpr std::string_view kWords[] = {
      "hello",   "see",   "you",     "at",    "the",     "meeting", "tomorrow", "ok",
      "thanks",  "lunch", "is",      "ready", "where",   "are",     "we",       "going",
      "tonight", "can",   "send",    "me",    "picture", "of",      "it",       "sure,",
      "great!",  "what?", "running", "late",  "15",      "minutes", "sorry.",   "lol"};
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> pick(0, std::size(kWords) - 1);
  std::string text;
  text.reserve(size + 16);
  while (text.size() < size) {
    text.append(kWords[pick(random)]);
    text.push_back(' ');
  }
  text.resize(size);
  return text;
}

// Returns `size` bytes of valid UTF-8 that mixes ASCII words, accented Latin, CJK and emoji
// (1-, 2-, 3- and 4-byte sequences). The text ends with ASCII spaces where the next piece
// would not fit, so no sequence is cut.
inline std::string mixed_utf8_text(size_t size, unsigned seed = 2) {
  static constexpr std::string_view kPieces[] = {
      "hello ",
      "caf\xC3\xA9 ",  // café
      "Gr\xC3\xBC\xC3\x9F"
      "e ",                                    // Grüße
      "\xE4\xBD\xA0\xE5\xA5\xBD",              // 你好
      "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB",  // こんに
      "\xE4\xB8\x96\xE7\x95\x8C ",             // 世界
      "\xF0\x9F\x98\x80",                      // U+1F600 grinning face
      "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ",     // thumbs up with a skin tone
      "see you at 5 ",
      "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 ",  // привет
  };
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  std::string text;
  text.reserve(size);
  for (;;) {
    const std::string_view piece = kPieces[pick(random)];
    if (text.size() + piece.size() > size) {
      break;
    }
    text.append(piece);
  }
  text.resize(size, ' ');
  return text;
}

}  // namespace parley::bench
