// Fuzzes decode_chat_command with whole text frames, for a user whose id is 7. Checks:
// - every decoded command satisfies the limits and rules the session relies on;
// - errors carry a known code and a cid within its limit;
// - the iterative JSON parser the decoder uses accepts the same documents as RapidJSON's
//   default recursive parser, on inputs shallow enough for the recursive one to be safe.

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_check.h"
#include "im/chat_command.h"
#include "im/config.h"

namespace parley::fuzz {
namespace {

using namespace parley::im;
using store::ConvKey;

constexpr int64_t kUserId = 7;
// Brackets beyond this count could nest deeper than the recursive parser may safely go.
constexpr size_t kMaxBracketsForRecursiveParse = 1000;

bool acceptable_url(std::string_view url) {
  return url.empty() || url.starts_with("/media/") || url.starts_with("https://") ||
         url.starts_with("http://");
}

// A conversation as parse_conv_name builds it for user 7: a direct chat with someone else, or
// a group.
bool is_valid_conv(const ConvKey& conv) {
  if (conv.kind == ConvKey::Kind::kGroup) {
    return conv.a > 0 && conv.b == 0;
  }
  return conv.a > 0 && conv.a < conv.b && (conv.a == kUserId || conv.b == kUserId);
}

void check_command(const ChatCommand& command) {
  if (const auto* error = std::get_if<CommandError>(&command)) {
    FUZZ_CHECK(error->code == "invalid_argument" || error->code == "too_large");
    FUZZ_CHECK(!error->message.empty());
    FUZZ_CHECK(error->cid.size() <= kMaxCidBytes);
  } else if (const auto* send = std::get_if<SendCommand>(&command)) {
    const store::Message& m = send->message;
    FUZZ_CHECK(m.sender == kUserId);
    FUZZ_CHECK(m.dst > 0);
    if (m.conv.kind == ConvKey::Kind::kDirect) {
      FUZZ_CHECK(m.dst != kUserId);
      FUZZ_CHECK(m.conv == ConvKey::direct(kUserId, m.dst));
    } else {
      FUZZ_CHECK(m.conv == ConvKey::group(m.dst));
    }
    FUZZ_CHECK(m.media >= 1 && m.media <= 8);
    FUZZ_CHECK(m.cid.size() <= kMaxCidBytes);
    FUZZ_CHECK(m.content.size() <= kMaxContentBytes);
    FUZZ_CHECK(m.url.size() <= kMaxUrlBytes);
    FUZZ_CHECK(m.pic.size() <= kMaxUrlBytes);
    FUZZ_CHECK(m.memo.size() <= kMaxMemoBytes);
    FUZZ_CHECK(!m.content.empty() || !m.url.empty());
    FUZZ_CHECK(acceptable_url(m.url));
    FUZZ_CHECK(acceptable_url(m.pic));
  } else if (const auto* sync = std::get_if<SyncCommand>(&command)) {
    if (sync->by_conv) {
      FUZZ_CHECK(is_valid_conv(sync->conv));
    }
  } else if (const auto* read = std::get_if<ReadCommand>(&command)) {
    FUZZ_CHECK(is_valid_conv(read->conv));
    FUZZ_CHECK(read->seq >= 0);
  } else if (const auto* typing = std::get_if<TypingCommand>(&command)) {
    FUZZ_CHECK(typing->dst > 0);
    FUZZ_CHECK(typing->dst != kUserId);
  } else if (const auto* recall = std::get_if<RecallCommand>(&command)) {
    FUZZ_CHECK(recall->id > 0);
  }
}

// Compares two values member by member in order. RapidJSON's operator== looks object members
// up by name, which makes documents with a repeated name unequal to themselves.
bool same_value(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.GetType() != b.GetType()) {
    return false;
  }
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) {
      return false;
    }
    for (auto i = a.MemberBegin(), j = b.MemberBegin(); i != a.MemberEnd(); ++i, ++j) {
      if (i->name != j->name || !same_value(i->value, j->value)) {
        return false;
      }
    }
    return true;
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) {
      return false;
    }
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!same_value(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

void compare_parsers(std::string_view text) {
  const auto brackets = static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c == '[' || c == '{'; }));
  if (brackets > kMaxBracketsForRecursiveParse) {
    return;
  }
  rapidjson::Document iterative;
  iterative.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  rapidjson::Document recursive;
  recursive.Parse(text.data(), text.size());
  FUZZ_CHECK(iterative.HasParseError() == recursive.HasParseError());
  if (!iterative.HasParseError()) {
    FUZZ_CHECK(same_value(iterative, recursive));
  }
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_command(parley::im::decode_chat_command(text, kUserId));
  compare_parsers(text);
  return 0;
}
