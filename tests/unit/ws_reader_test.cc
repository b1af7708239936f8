#include <doctest/doctest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ws/frame.h"
#include "ws/message_reader.h"

namespace parley::ws {
namespace {

using Type = Event::Type;

// An Event with its views copied, so that it outlives the reader call.
struct Record {
  Type type = Type::kNeedMore;
  std::string payload;
  uint16_t close_code = 0;
  std::string reason;

  bool operator==(const Record&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Record& record) {
  return out << "{type " << static_cast<int>(record.type) << ", payload size "
             << record.payload.size() << ", code " << record.close_code << ", reason \""
             << record.reason << "\"}";
}

std::ostream& operator<<(std::ostream& out, const std::vector<Record>& records) {
  out << "[";
  for (const Record& record : records) {
    out << record << " ";
  }
  return out << "]";
}

Record record(Type type, std::string payload = {}, uint16_t close_code = 0,
              std::string reason = {}) {
  return Record{type, std::move(payload), close_code, std::move(reason)};
}

// Plays the role of a connection: appends each chunk to an input buffer, calls next() until it
// consumes nothing, and drops consumed bytes. It stops at the first kError. For kError the
// reason is not recorded, so expectations only need the code.
class Connection {
 public:
  explicit Connection(ReaderLimits limits = {}) : reader_(limits) {}

  void receive(std::string_view chunk) {
    if (failed_) {
      return;
    }
    buffer_.append(chunk);
    for (;;) {
      Event event;
      const size_t consumed = reader_.next(buffer_.data(), buffer_.size(), event);
      REQUIRE(consumed <= buffer_.size());
      if (event.type == Type::kError) {
        records_.push_back(record(Type::kError, {}, event.close_code));
        failed_ = true;
        return;
      }
      if (event.type != Type::kNeedMore) {
        records_.push_back(record(event.type, std::string(event.payload), event.close_code,
                                  std::string(event.reason)));
      }
      buffer_.erase(0, consumed);
      if (event.type == Type::kNeedMore && consumed == 0) {
        return;
      }
    }
  }

  const std::vector<Record>& records() const { return records_; }
  size_t buffered() const { return buffer_.size(); }

 private:
  MessageReader reader_;
  std::string buffer_;
  std::vector<Record> records_;
  bool failed_ = false;
};

std::vector<Record> read_whole(std::string_view wire, ReaderLimits limits = {}) {
  Connection connection(limits);
  connection.receive(wire);
  return connection.records();
}

std::vector<Record> read_byte_by_byte(std::string_view wire, ReaderLimits limits = {}) {
  Connection connection(limits);
  for (char c : wire) {
    connection.receive(std::string_view(&c, 1));
  }
  return connection.records();
}

std::vector<Record> read_split(std::string_view wire, size_t split, ReaderLimits limits = {}) {
  Connection connection(limits);
  connection.receive(wire.substr(0, split));
  connection.receive(wire.substr(split));
  return connection.records();
}

std::string text(std::string_view payload, bool fin = true) {
  return encode_masked_frame(Opcode::kText, payload, 0x37fa213d, fin);
}

std::string continuation(std::string_view payload, bool fin) {
  return encode_masked_frame(Opcode::kContinuation, payload, 0x0badf00d, fin);
}

std::string close_frame(std::string_view body) {
  return encode_masked_frame(Opcode::kClose, body, 0x01020304);
}

std::string close_body(uint16_t code, std::string_view reason = {}) {
  std::string body;
  body += static_cast<char>(code >> 8);
  body += static_cast<char>(code & 0xFF);
  body += reason;
  return body;
}

std::string pattern_payload(size_t len) {
  std::string payload(len, '\0');
  for (size_t i = 0; i < len; ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
}

// Checks that the wire gives `expected` whether it arrives whole, one byte at a time, or in
// two pieces split at every position.
void check_every_split(std::string_view wire, const std::vector<Record>& expected,
                       ReaderLimits limits = {}) {
  CHECK(read_whole(wire, limits) == expected);
  CHECK(read_byte_by_byte(wire, limits) == expected);
  for (size_t split = 0; split <= wire.size(); ++split) {
    CAPTURE(split);
    CHECK(read_split(wire, split, limits) == expected);
  }
}

// Checks that the wire fails the connection with `code`, as the only event.
void check_error(std::string_view wire, uint16_t code, ReaderLimits limits = {}) {
  const std::vector<Record> records = read_whole(wire, limits);
  REQUIRE(records.size() >= 1);
  CHECK(records.back().type == Type::kError);
  CHECK(records.back().close_code == code);
}

}  // namespace

TEST_CASE("reader on the RFC 6455 masked example") {
  // §5.7: a single-frame masked text message containing "Hello".
  const std::string wire = {'\x81', '\x85', '\x37', '\xfa', '\x21', '\x3d',
                            '\x7f', '\x9f', '\x4d', '\x51', '\x58'};
  check_every_split(wire, {record(Type::kText, "Hello")});
}

TEST_CASE("reader at every length boundary") {
  for (size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    CAPTURE(len);
    const std::string payload = pattern_payload(len);
    CHECK(read_whole(text(payload)) == std::vector{record(Type::kText, payload)});
    const std::string binary = encode_masked_frame(Opcode::kBinary, payload, 0xCAFEBABE);
    CHECK(read_whole(binary) == std::vector{record(Type::kBinary, payload)});
    CHECK(read_byte_by_byte(binary) == std::vector{record(Type::kBinary, payload)});
  }
}

TEST_CASE("reader returns an unfragmented message in place") {
  std::string wire = text("in place");
  MessageReader reader;
  Event event;
  const size_t consumed = reader.next(wire.data(), wire.size(), event);
  CHECK(consumed == wire.size());
  CHECK(event.type == Type::kText);
  CHECK(event.payload == "in place");
  CHECK(event.payload.data() == wire.data() + 6);
}

TEST_CASE("reader returns several messages from one buffer") {
  const std::string wire =
      text("one") + text("two") + encode_masked_frame(Opcode::kBinary, "three", 0x11223344);
  check_every_split(wire, {record(Type::kText, "one"), record(Type::kText, "two"),
                           record(Type::kBinary, "three")});
}

TEST_CASE("reader accepts non-minimal length encodings") {
  // "Hello" with a 16-bit and with a 64-bit length, masked with the key 00 00 00 00.
  const std::string length16 = {'\x81', '\xFE', '\x00', '\x05', '\x00', '\x00', '\x00',
                                '\x00', 'H',    'e',    'l',    'l',    'o'};
  const std::string length64 = {'\x82', '\xFF', '\x00', '\x00', '\x00', '\x00', '\x00',
                                '\x00', '\x00', '\x05', '\x00', '\x00', '\x00', '\x00',
                                'H',    'e',    'l',    'l',    'o'};
  check_every_split(length16, {record(Type::kText, "Hello")});
  check_every_split(length64, {record(Type::kBinary, "Hello")});
}

TEST_CASE("reader reassembles a fragmented message with control frames between") {
  // §5.4: control frames may be injected in the middle of a fragmented message.
  const std::string wire =
      text("Hel", false) + encode_masked_frame(Opcode::kPing, "are you there", 0xA0B0C0D0) +
      continuation("lo, ", false) + encode_masked_frame(Opcode::kPong, "", 0x01010101) +
      continuation("w\xC3\xB6rld", true);
  check_every_split(wire, {record(Type::kPing, "are you there"), record(Type::kPong),
                           record(Type::kText, "Hello, w\xC3\xB6rld")});
}

TEST_CASE("reader reassembles a character split across fragments") {
  // U+1D11E (F0 9D 84 9E) cut after each of its first three bytes.
  const std::string wire = text("\xF0", false) + continuation("\x9D\x84", false) +
                           continuation("", false) + continuation("\x9E!", true);
  check_every_split(wire, {record(Type::kText, "\xF0\x9D\x84\x9E!")});
}

TEST_CASE("reader reassembles a binary message with an empty final fragment") {
  const std::string wire = encode_masked_frame(Opcode::kBinary, "ab", 0x5A5A5A5A, false) +
                           continuation("cd", false) + continuation("", true);
  check_every_split(wire, {record(Type::kBinary, "abcd")});
}

TEST_CASE("reader reassembles a large fragmented message") {
  const std::string payload = pattern_payload(70000);
  const std::string wire =
      encode_masked_frame(Opcode::kBinary, payload.substr(0, 65536), 0x12345678, false) +
      continuation(payload.substr(65536, 4000), false) + continuation(payload.substr(69536), true);
  CHECK(read_whole(wire) == std::vector{record(Type::kBinary, payload)});
  CHECK(read_byte_by_byte(wire) == std::vector{record(Type::kBinary, payload)});
}

TEST_CASE("reader keeps only a frame header of a fragment buffered") {
  // Fragment payloads move into the reader as they arrive.
  Connection connection;
  const std::string wire = text(pattern_payload(1000), false);
  connection.receive(std::string_view(wire).substr(0, 500));
  CHECK(connection.buffered() == 0);
  CHECK(connection.records().empty());
}

TEST_CASE("reader handles ping, pong and close") {
  CHECK(read_whole(encode_masked_frame(Opcode::kPing, "p", 1)) ==
        std::vector{record(Type::kPing, "p")});
  CHECK(read_whole(encode_masked_frame(Opcode::kPong, "q", 2)) ==
        std::vector{record(Type::kPong, "q")});
  const std::string max_ping(125, 'x');
  CHECK(read_whole(encode_masked_frame(Opcode::kPing, max_ping, 3)) ==
        std::vector{record(Type::kPing, max_ping)});
}

TEST_CASE("reader reports a close with code and reason") {
  const std::string body = close_body(1000, "bye \xF0\x9F\x91\x8B");
  check_every_split(close_frame(body), {record(Type::kClose, body, 1000, "bye \xF0\x9F\x91\x8B")});
}

TEST_CASE("reader reports an empty close as 1005") {
  check_every_split(close_frame(""), {record(Type::kClose, "", 1005)});
}

TEST_CASE("reader accepts every valid close code") {
  for (uint16_t code : std::vector<uint16_t>{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                             1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    CAPTURE(code);
    const std::vector<Record> records = read_whole(close_frame(close_body(code)));
    REQUIRE(records.size() == 1);
    CHECK(records[0].type == Type::kClose);
    CHECK(records[0].close_code == code);
  }
}

TEST_CASE("reader ignores bytes after a close") {
  const std::string wire = close_frame(close_body(1001)) + text("late");
  CHECK(read_whole(wire) == std::vector{record(Type::kClose, close_body(1001), 1001)});

  std::string after = text("later");
  MessageReader reader;
  Event event;
  std::string first = close_frame("");
  CHECK(reader.next(first.data(), first.size(), event) == first.size());
  CHECK(event.type == Type::kClose);
  CHECK(reader.next(after.data(), after.size(), event) == 0);
  CHECK(event.type == Type::kNeedMore);
}

TEST_CASE("reader rejects an unmasked frame") {
  check_error(encode_frame(Opcode::kText, "Hello"), 1002);
  // The first two bytes are enough to tell.
  check_error(encode_frame(Opcode::kText, "Hello").substr(0, 2), 1002);
}

TEST_CASE("reader rejects RSV bits") {
  for (uint8_t rsv : {kRsv1Bit, kRsv2Bit, kRsv3Bit}) {
    CAPTURE(static_cast<int>(rsv));
    check_error(encode_masked_frame(Opcode::kText, "x", 9, true, rsv), 1002);
    check_error(encode_masked_frame(Opcode::kPing, "x", 9, true, rsv), 1002);
  }
}

TEST_CASE("reader rejects reserved opcodes") {
  for (uint8_t opcode : std::vector<uint8_t>{3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    CAPTURE(static_cast<int>(opcode));
    check_error(encode_masked_frame(static_cast<Opcode>(opcode), "x", 9), 1002);
  }
}

TEST_CASE("reader rejects a control frame over 125 bytes") {
  const std::string payload(126, 'x');
  check_error(encode_masked_frame(Opcode::kPing, payload, 9), 1002);
  check_error(encode_masked_frame(Opcode::kPong, payload, 9), 1002);
  check_error(close_frame(close_body(1000, std::string(124, 'r'))), 1002);
}

TEST_CASE("reader rejects a fragmented control frame") {
  check_error(encode_masked_frame(Opcode::kPing, "x", 9, false), 1002);
  check_error(encode_masked_frame(Opcode::kClose, "", 9, false), 1002);
}

TEST_CASE("reader rejects a 64-bit length with the top bit set") {
  const std::string wire = {'\x82', '\xFF', '\x80', '\x00', '\x00', '\x00', '\x00',
                            '\x00', '\x00', '\x05', '\x00', '\x00', '\x00', '\x00'};
  check_error(wire, 1002);
}

TEST_CASE("reader rejects a continuation without a message") {
  check_error(continuation("x", true), 1002);
  check_error(continuation("x", false), 1002);
  // A finished message leaves nothing to continue.
  check_error(text("done") + continuation("x", true), 1002);
}

TEST_CASE("reader rejects a new message inside a fragmented one") {
  check_error(text("a", false) + text("b"), 1002);
  check_error(text("a", false) + encode_masked_frame(Opcode::kBinary, "b", 9, false), 1002);
}

TEST_CASE("reader rejects invalid UTF-8 in a text frame") {
  check_error(text("bad \xFF byte"), 1007);
  check_error(text("surrogate \xED\xA0\x80"), 1007);
  check_error(text("truncated \xE2\x82"), 1007);
}

TEST_CASE("reader rejects invalid UTF-8 across fragments") {
  // Each fragment is fine on its own, but together they encode U+110000.
  check_error(text("\xF4", false) + continuation("\x90\x80\x80", true), 1007);
  // The message ends inside a character.
  check_error(text("ok", false) + continuation("\xC3", true), 1007);
}

TEST_CASE("reader fails fast inside an unfragmented text frame") {
  // Only the start of the frame has arrived, but it already holds an invalid byte.
  const std::string wire = text("bad \xFF" + std::string(1000, 'x'));
  check_error(std::string_view(wire).substr(0, 20), 1007);
}

TEST_CASE("reader fails fast inside a fragment") {
  const std::string wire =
      text("ok", false) + continuation("bad \xC0" + std::string(1000, 'x'), true);
  check_error(std::string_view(wire).substr(0, 30), 1007);
}

TEST_CASE("reader rejects a message over the limit from its header") {
  const ReaderLimits limits{16};
  check_error(text(std::string(17, 'x')), 1009, limits);
  check_every_split(text(std::string(16, 'x')), {record(Type::kText, std::string(16, 'x'))},
                    limits);
  // A header announcing 1 GiB fails at once, with none of the payload sent.
  const std::string huge = {'\x82', '\xFF', '\x00', '\x00', '\x00', '\x00', '\x40',
                            '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\x00'};
  check_error(huge, 1009);
}

TEST_CASE("reader counts every fragment against the limit") {
  const ReaderLimits limits{16};
  check_error(text(std::string(10, 'x'), false) + continuation(std::string(7, 'y'), true), 1009,
              limits);
  check_every_split(text(std::string(10, 'x'), false) + continuation(std::string(6, 'y'), true),
                    {record(Type::kText, std::string(10, 'x') + std::string(6, 'y'))}, limits);
  // Control frames do not count against the message limit.
  check_every_split(text(std::string(10, 'x'), false) +
                        encode_masked_frame(Opcode::kPing, std::string(100, 'p'), 5) +
                        continuation(std::string(6, 'y'), true),
                    {record(Type::kPing, std::string(100, 'p')),
                     record(Type::kText, std::string(10, 'x') + std::string(6, 'y'))},
                    limits);
}

TEST_CASE("reader rejects a close body of 1 byte") {
  check_error(close_frame("\x03"), 1002);
}

TEST_CASE("reader rejects invalid close codes") {
  for (uint16_t code :
       std::vector<uint16_t>{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    CAPTURE(code);
    check_error(close_frame(close_body(code)), 1002);
  }
}

TEST_CASE("reader rejects a close reason that is not UTF-8") {
  check_error(close_frame(close_body(1000, "bad \xC3")), 1007);
  check_error(close_frame(close_body(1000, "\xED\xBF\xBF")), 1007);
}

TEST_CASE("reader stays failed after an error") {
  MessageReader reader;
  Event event;
  std::string bad = encode_frame(Opcode::kText, "unmasked");
  CHECK(reader.next(bad.data(), bad.size(), event) == 0);
  CHECK(event.type == Type::kError);
  CHECK(event.close_code == 1002);
  CHECK_FALSE(event.reason.empty());

  std::string good = text("fine");
  CHECK(reader.next(good.data(), good.size(), event) == 0);
  CHECK(event.type == Type::kError);
  CHECK(event.close_code == 1002);
}

TEST_CASE("reader gives the same events at every split of a mixed stream") {
  const std::string wire = text("first") + encode_masked_frame(Opcode::kPing, "", 7) +
                           encode_masked_frame(Opcode::kBinary, "b1", 8, false) +
                           encode_masked_frame(Opcode::kPong, "pong", 9) +
                           continuation("b2", true) + text(pattern_payload(300)) +
                           close_frame(close_body(1000, "done"));
  check_every_split(wire,
                    {record(Type::kText, "first"), record(Type::kPing), record(Type::kPong, "pong"),
                     record(Type::kBinary, "b1b2"), record(Type::kText, pattern_payload(300)),
                     record(Type::kClose, close_body(1000, "done"), 1000, "done")});
}

}  // namespace parley::ws
