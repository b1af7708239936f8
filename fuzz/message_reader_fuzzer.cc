// Fuzzes the WebSocket MessageReader as a connection drives it: bytes arrive in chunks, the
// reader is called until it consumes nothing, and consumed bytes leave the front of the
// buffer. The input layout is in chunked_input.h. Checks:
// - the events are the same whether the payload arrives whole or in the input's chunks;
// - text messages and close reasons are valid UTF-8 and messages respect the size limit;
// - after kError every call repeats the error, and after kClose every call returns kNeedMore.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/chunked_input.h"
#include "fuzz/fuzz_check.h"
#include "ws/message_reader.h"
#include "ws/utf8.h"

namespace parley::fuzz {
namespace {

using ws::Event;
using ws::MessageReader;
using ws::ReaderLimits;
using Type = Event::Type;

// Small limits too, so that short inputs reach the 1009 close code and the fragment checks.
ReaderLimits limits_for(unsigned variant) {
  switch (variant % 4) {
    case 1:
      return ReaderLimits{.max_message_bytes = 0};
    case 2:
      return ReaderLimits{.max_message_bytes = 125};
    case 3:
      return ReaderLimits{.max_message_bytes = 1000};
    default:
      return ReaderLimits{};
  }
}

// An event with its views copied, so that it outlives the next reader call.
struct Record {
  Type type = Type::kNeedMore;
  std::string payload;
  uint16_t close_code = 0;
  std::string reason;

  bool operator==(const Record&) const = default;
};

void check_event(const Event& event, const ReaderLimits& limits) {
  switch (event.type) {
    case Type::kText:
      FUZZ_CHECK(ws::is_valid_utf8(event.payload));
      FUZZ_CHECK(event.payload.size() <= limits.max_message_bytes);
      break;
    case Type::kBinary:
      FUZZ_CHECK(event.payload.size() <= limits.max_message_bytes);
      break;
    case Type::kPing:
    case Type::kPong:
      FUZZ_CHECK(event.payload.size() <= ws::kMaxControlPayload);
      break;
    case Type::kClose:
      FUZZ_CHECK(event.payload.size() <= ws::kMaxControlPayload);
      FUZZ_CHECK(ws::is_valid_utf8(event.reason));
      FUZZ_CHECK(event.close_code == 1005 || ws::is_valid_received_close_code(event.close_code));
      break;
    case Type::kError:
      FUZZ_CHECK(event.close_code == 1002 || event.close_code == 1007 || event.close_code == 1009);
      FUZZ_CHECK(!event.reason.empty());
      break;
    case Type::kNeedMore:
      break;
  }
}

std::vector<Record> deliver(const std::vector<std::string_view>& chunks,
                            const ReaderLimits& limits) {
  MessageReader reader(limits);
  std::vector<Record> records;
  std::string buffer;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    for (;;) {
      Event event;
      const size_t consumed = reader.next(buffer.data(), buffer.size(), event);
      FUZZ_CHECK(consumed <= buffer.size());
      check_event(event, limits);
      if (event.type != Type::kNeedMore) {
        records.push_back(Record{event.type, std::string(event.payload), event.close_code,
                                 std::string(event.reason)});
      }
      if (event.type == Type::kError) {
        FUZZ_CHECK(consumed == 0);
        Event again;
        FUZZ_CHECK(reader.next(buffer.data(), buffer.size(), again) == 0);
        FUZZ_CHECK(again.type == Type::kError);
        FUZZ_CHECK(again.close_code == event.close_code);
        return records;
      }
      buffer.erase(0, consumed);
      if (event.type == Type::kClose) {
        Event after;
        FUZZ_CHECK(reader.next(buffer.data(), buffer.size(), after) == 0);
        FUZZ_CHECK(after.type == Type::kNeedMore);
        return records;
      }
      if (consumed == 0 && event.type == Type::kNeedMore) {
        break;
      }
    }
  }
  return records;
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::fuzz;
  const ChunkedInput input = read_chunked_input(data, size);
  const parley::ws::ReaderLimits limits = limits_for(input.variant);
  const std::vector<Record> whole = deliver({input.payload}, limits);
  const std::vector<Record> pieces = deliver(input.chunks, limits);
  FUZZ_CHECK(pieces == whole);
  return 0;
}
