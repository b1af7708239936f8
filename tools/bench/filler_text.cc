#include "tools/bench/filler_text.h"

#include <algorithm>
#include <string_view>

#include "tools/bench/ws_client_codec.h"

namespace parley::bench {
namespace {

// Common English words. A 4 KiB slice of text drawn from them deflates to about 40% of its size
// and a 128-byte slice to about 80% (zlib level 6, 15-bit window, each slice on its own).
constexpr std::string_view kWords[] = {
    "the",     "be",       "to",      "of",     "and",     "a",      "in",      "that",   "have",
    "it",      "for",      "not",     "on",     "with",    "he",     "as",      "you",    "do",
    "at",      "this",     "but",     "his",    "by",      "from",   "they",    "we",     "say",
    "her",     "she",      "or",      "an",     "will",    "my",     "one",     "all",    "would",
    "there",   "their",    "what",    "so",     "up",      "out",    "if",      "about",  "who",
    "get",     "which",    "go",      "me",     "when",    "make",   "can",     "like",   "time",
    "no",      "just",     "him",     "know",   "take",    "people", "into",    "year",   "your",
    "good",    "some",     "could",   "them",   "see",     "other",  "than",    "then",   "now",
    "look",    "only",     "come",    "its",    "over",    "think",  "also",    "back",   "after",
    "use",     "two",      "how",     "our",    "work",    "first",  "well",    "way",    "even",
    "new",     "want",     "because", "any",    "these",   "give",   "day",     "most",   "us",
    "meeting", "tomorrow", "morning", "lunch",  "message", "call",   "later",   "thanks", "sure",
    "maybe",   "weekend",  "train",   "office", "coffee",  "friday", "project", "review", "ready",
    "again",   "home",     "late",    "sorry",  "great",   "please", "check",   "photo",  "tonight",
    "dinner",  "next",
};

// 64 KiB: much larger than zlib's 32 KiB window, so a slice of it does not repeat itself.
constexpr size_t kTextBytes = size_t{64} << 10;

// Builds the word text once from a fixed seed, so that every run sends the same bytes.
const std::string& word_text() {
  static const std::string text = [] {
    XorShift rng(0x70617273u);
    std::string out;
    out.reserve(kTextBytes + 16);
    size_t sentence = 0;
    while (out.size() < kTextBytes) {
      std::string_view word = kWords[rng.next() % std::size(kWords)];
      out.append(word);
      // A period about every ten words, as in prose.
      out.append(++sentence % 10 == 0 ? ". " : " ");
    }
    out.resize(kTextBytes);
    return out;
  }();
  return text;
}

}  // namespace

void append_filler(std::string& out, size_t count, Fill fill, uint64_t seed) {
  if (fill == Fill::kRepeat) {
    out.append(count, 'x');
    return;
  }
  const std::string& text = word_text();
  size_t offset = static_cast<size_t>(seed % text.size());
  while (count > 0) {
    size_t piece = std::min(count, text.size() - offset);
    out.append(text, offset, piece);
    count -= piece;
    offset = 0;
  }
}

}  // namespace parley::bench
