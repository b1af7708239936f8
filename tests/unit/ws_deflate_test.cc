#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/http_message.h"
#include "ws/extension_offer.h"
#include "ws/frame.h"
#include "ws/message_reader.h"
#include "ws/permessage_deflate.h"

namespace parley::ws {
namespace {

constexpr uint32_t kMaskKey = 0x37fa213d;

net::HttpRequest request_offering(std::vector<std::string> extension_lines) {
  net::HttpRequest request;
  for (std::string& line : extension_lines) {
    request.headers.emplace_back("sec-websocket-extensions", std::move(line));
  }
  return request;
}

std::optional<DeflateParams> negotiate(std::vector<std::string> lines,
                                       DeflateOptions options = {.enabled = true}) {
  return negotiate_permessage_deflate(request_offering(std::move(lines)), options);
}

// Returns the response header for the offer, or "declined".
std::string response_to(std::string offer, DeflateOptions options = {.enabled = true}) {
  const std::optional<DeflateParams> params = negotiate({std::move(offer)}, options);
  return params ? deflate_response_header(*params) : "declined";
}

// The result of reading a stream of frames: the messages, then the close code of a failure.
struct Reading {
  std::vector<std::string> messages;
  uint16_t error = 0;
};

// Feeds `wire` to a reader with permessage-deflate on, in pieces of `piece` bytes.
Reading read_frames(std::string_view wire, const DeflateParams& params, size_t max_bytes,
                    size_t piece = SIZE_MAX, bool negotiated = true) {
  MessageReader reader(ReaderLimits{.max_message_bytes = max_bytes});
  if (negotiated) {
    reader.enable_permessage_deflate(params);
  }
  Reading reading;
  std::string buffer;
  while (!wire.empty() && reading.error == 0) {
    buffer.append(wire.substr(0, piece));
    wire.remove_prefix(std::min(piece, wire.size()));
    for (;;) {
      Event event;
      const size_t consumed = reader.next(buffer.data(), buffer.size(), event);
      if (event.type == Event::Type::kError) {
        reading.error = event.close_code;
        break;
      }
      if (event.type == Event::Type::kText || event.type == Event::Type::kBinary) {
        reading.messages.emplace_back(event.payload);
      }
      buffer.erase(0, consumed);
      if (event.type == Event::Type::kNeedMore && consumed == 0) {
        break;
      }
    }
  }
  return reading;
}

std::string compressed_frame(Deflater& client, Opcode opcode, std::string_view payload) {
  return encode_masked_frame(opcode, client.compress(payload), kMaskKey, true, kRsv1Bit);
}

std::string sample_text(size_t size) {
  std::string text;
  while (text.size() < size) {
    text += "{\"cmd\":10,\"to\":42,\"content\":\"héllo wörld ";
    text += std::to_string(text.size());
    text += "\"}";
  }
  text.resize(size);
  return text;
}

// A client compressor driven through zlib directly, which can end a message with a final
// block (BFINAL set, as zlib's Z_FINISH does) instead of the empty stored block of a sync flush.
class ZlibSender {
 public:
  // With `keep_window` a message after a final block starts with the earlier messages as its
  // dictionary, so it refers back to them as context takeover allows.
  explicit ZlibSender(bool keep_window) : keep_window_(keep_window) {
    REQUIRE(deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
            Z_OK);
  }
  ~ZlibSender() { deflateEnd(&stream_); }
  ZlibSender(const ZlibSender&) = delete;
  ZlibSender& operator=(const ZlibSender&) = delete;

  // Returns the payload of one message flushed with `flush`: Z_FINISH or Z_SYNC_FLUSH. The
  // tail 00 00 FF FF of a sync flush is removed (RFC 7692 §7.2.1).
  std::string compress(std::string_view payload, int flush) {
    std::string out(deflateBound(&stream_, payload.size()) + 16, '\0');
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
    stream_.avail_in = static_cast<uInt>(payload.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&stream_, flush);
    REQUIRE(rc == (flush == Z_FINISH ? Z_STREAM_END : Z_OK));
    REQUIRE(stream_.avail_in == 0);
    out.resize(out.size() - stream_.avail_out);

    history_.append(payload);
    if (history_.size() > 32768) {
      history_.erase(0, history_.size() - 32768);
    }
    if (flush == Z_FINISH) {
      REQUIRE(deflateReset(&stream_) == Z_OK);
      if (keep_window_ && !history_.empty()) {
        REQUIRE(deflateSetDictionary(&stream_, reinterpret_cast<const Bytef*>(history_.data()),
                                     static_cast<uInt>(history_.size())) == Z_OK);
      }
    } else {
      REQUIRE(out.size() >= 4);
      REQUIRE(out.substr(out.size() - 4) == std::string("\x00\x00\xff\xff", 4));
      out.resize(out.size() - 4);
    }
    return out;
  }

 private:
  z_stream stream_{};
  bool keep_window_;
  std::string history_;  // the last 32 KiB of payload, the window of a 15-bit compressor
};

// Inflates one whole message, or returns the failure as text.
std::string inflate_message(Inflater& inflater, std::string_view compressed,
                            size_t limit = 1 << 20) {
  std::vector<char> out;
  if (inflater.feed(compressed, out, limit) != InflateStatus::kOk) {
    return "feed failed";
  }
  if (inflater.finish(out, limit) != InflateStatus::kOk) {
    return "finish failed";
  }
  return std::string(out.begin(), out.end());
}

}  // namespace

TEST_CASE("extension offers parse names and parameters") {
  std::vector<ExtensionOffer> offers;
  parse_extension_list("permessage-deflate; client_max_window_bits, Foo ; A=\"b\\c\" ;d=1,, x; =2",
                       offers);
  REQUIRE(offers.size() == 3);
  CHECK(offers[0].name == "permessage-deflate");
  REQUIRE(offers[0].params.size() == 1);
  CHECK(offers[0].params[0].name == "client_max_window_bits");
  CHECK_FALSE(offers[0].params[0].value.has_value());
  CHECK(offers[0].well_formed);
  CHECK(offers[1].name == "foo");
  REQUIRE(offers[1].params.size() == 2);
  CHECK(offers[1].params[0].name == "a");
  CHECK(offers[1].params[0].value == "bc");
  CHECK(offers[1].params[1].value == "1");
  CHECK(offers[1].well_formed);
  CHECK(offers[2].name == "x");
  CHECK_FALSE(offers[2].well_formed);
}

TEST_CASE("extension offers reject bad quoting") {
  for (const char* value : {"x; a=\"1", "x; a=\"1 2\"", "x; a=b c", "x;", "\"x\""}) {
    std::vector<ExtensionOffer> offers;
    parse_extension_list(value, offers);
    REQUIRE(offers.size() == 1);
    CHECK_MESSAGE(!offers[0].well_formed, value);
  }
}

TEST_CASE("permessage-deflate accepts plain and parameterised offers") {
  CHECK(response_to("permessage-deflate") == "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  CHECK(response_to("Permessage-Deflate; client_max_window_bits") ==
        "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  CHECK(response_to("permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover; server_max_window_bits=10") ==
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover; server_max_window_bits=10\r\n");
  CHECK(response_to("permessage-deflate; server_max_window_bits=\"12\"") ==
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n");
  CHECK(response_to("permessage-deflate; client_max_window_bits=8") ==
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n");
}

TEST_CASE("permessage-deflate limits the client window when asked") {
  const DeflateOptions options{.enabled = true, .client_max_window_bits = 12};
  CHECK(response_to("permessage-deflate; client_max_window_bits", options) ==
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n");
  CHECK(response_to("permessage-deflate; client_max_window_bits=10", options) ==
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n");
  // A client that does not offer the parameter must not get it (RFC 7692 §7.1.2.2).
  CHECK(response_to("permessage-deflate", options) ==
        "Sec-WebSocket-Extensions: permessage-deflate\r\n");
}

TEST_CASE("permessage-deflate declines malformed offers") {
  for (const char* offer : {
           "permessage-deflate; server_max_window_bits",
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=08",
           "permessage-deflate; server_max_window_bits=1a",
           "permessage-deflate; server_max_window_bits=8",
           "permessage-deflate; client_max_window_bits=0",
           "permessage-deflate; client_max_window_bits=",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover=true",
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
           "permessage-deflate; mystery",
           "permessage-deflate; server_max_window_bits=\"1 0\"",
           "x-webkit-deflate-frame",
       }) {
    CHECK_MESSAGE(response_to(offer) == "declined", offer);
  }
}

TEST_CASE("permessage-deflate takes the first acceptable offer") {
  const std::optional<DeflateParams> params =
      negotiate({"foo, permessage-deflate; server_max_window_bits=8",
                 "permessage-deflate; server_max_window_bits=11, permessage-deflate"});
  REQUIRE(params.has_value());
  CHECK(params->server_max_window_bits == 11);
  CHECK(params->send_server_max_window_bits);
}

TEST_CASE("permessage-deflate is declined when disabled or not offered") {
  CHECK_FALSE(negotiate({"permessage-deflate"}, DeflateOptions{}).has_value());
  CHECK_FALSE(negotiate({}).has_value());
}

TEST_CASE("deflate round trip keeps context") {
  const DeflateParams params;
  Deflater deflater(params);
  Inflater inflater(params);
  const std::string message = sample_text(2000);
  std::vector<size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    const std::string compressed = deflater.compress(message);
    sizes.push_back(compressed.size());
    std::vector<char> out;
    REQUIRE(inflater.feed(compressed, out, 1 << 20) == InflateStatus::kOk);
    REQUIRE(inflater.finish(out, 1 << 20) == InflateStatus::kOk);
    CHECK(std::string(out.begin(), out.end()) == message);
  }
  // With context takeover a repeat refers back to the previous message.
  CHECK(sizes[1] < sizes[0] / 4);
  CHECK(sizes[2] < sizes[0] / 4);
}

TEST_CASE("deflate round trip without context takeover") {
  const DeflateParams params{.server_no_context_takeover = true,
                             .client_no_context_takeover = true};
  Deflater deflater(params);
  Inflater inflater(params);
  const std::string message = sample_text(2000);
  const std::string first = deflater.compress(message);
  const std::string second = deflater.compress(message);
  CHECK(first == second);
  for (const std::string& compressed : {first, second}) {
    std::vector<char> out;
    REQUIRE(inflater.feed(compressed, out, 1 << 20) == InflateStatus::kOk);
    REQUIRE(inflater.finish(out, 1 << 20) == InflateStatus::kOk);
    CHECK(std::string(out.begin(), out.end()) == message);
  }
}

TEST_CASE("inflater reads final-block messages with context takeover") {
  const DeflateParams params;
  const std::string message = sample_text(2000);
  // A sender that keeps its window refers back to the earlier messages, and one that resets
  // its compressor after each final block does not.
  for (const bool keep_window : {true, false}) {
    CAPTURE(keep_window);
    ZlibSender sender(keep_window);
    Inflater inflater(params);
    std::vector<size_t> sizes;
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      const std::string compressed = sender.compress(message, Z_FINISH);
      sizes.push_back(compressed.size());
      CHECK(inflate_message(inflater, compressed) == message);
    }
    if (keep_window) {
      CHECK(sizes[1] < sizes[0] / 4);
      CHECK(sizes[2] < sizes[0] / 4);
    } else {
      CHECK(sizes[1] == sizes[0]);
    }
  }
}

TEST_CASE("inflater reads final-block messages without context takeover") {
  const DeflateParams params{.client_no_context_takeover = true};
  ZlibSender sender(false);
  Inflater inflater(params);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const std::string message = sample_text(1000 + 700 * i);
    CHECK(inflate_message(inflater, sender.compress(message, Z_FINISH)) == message);
  }
}

TEST_CASE("inflater reads final-block example of RFC 7692") {
  // "Hello" in a fixed-Huffman block with BFINAL set, then the octet 0x00 that the RFC's
  // example puts after it.
  const std::string hello("\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8);
  const std::string without_octet = hello.substr(0, 7);
  for (const bool no_takeover : {false, true}) {
    CAPTURE(no_takeover);
    Inflater inflater(DeflateParams{.client_no_context_takeover = no_takeover});
    CHECK(inflate_message(inflater, hello) == "Hello");
    CHECK(inflate_message(inflater, hello) == "Hello");
    CHECK(inflate_message(inflater, without_octet) == "Hello");
    CHECK(inflate_message(inflater, without_octet) == "Hello");
  }
}

TEST_CASE("inflater mixes final-block and sync-flush messages") {
  const DeflateParams params;
  ZlibSender sender(true);
  Inflater inflater(params);
  const std::string message = sample_text(3000);
  const std::string first = sender.compress(message, Z_FINISH);
  const std::string second = sender.compress(message, Z_SYNC_FLUSH);
  const std::string third = sender.compress(message, Z_FINISH);
  const std::string fourth = sender.compress(message, Z_SYNC_FLUSH);
  CHECK(inflate_message(inflater, first) == message);
  CHECK(inflate_message(inflater, second) == message);
  CHECK(inflate_message(inflater, third) == message);
  CHECK(inflate_message(inflater, fourth) == message);
  // The later messages refer back through the window that the final blocks did not clear.
  CHECK(second.size() < first.size() / 4);
  CHECK(fourth.size() < first.size() / 4);
}

TEST_CASE("reader accepts consecutive final-block messages") {
  const std::string message = sample_text(5000);
  for (const bool no_takeover : {false, true}) {
    CAPTURE(no_takeover);
    const DeflateParams params{.client_no_context_takeover = no_takeover};
    ZlibSender sender(!no_takeover);
    std::string wire = encode_masked_frame(Opcode::kText, sender.compress(message, Z_FINISH),
                                           kMaskKey, true, kRsv1Bit);
    // The second message arrives in two fragments, the final block split between them.
    const std::string second = sender.compress(message, Z_FINISH);
    const size_t half = second.size() / 2;
    wire += encode_masked_frame(Opcode::kBinary, second.substr(0, half), kMaskKey, false, kRsv1Bit);
    wire += encode_masked_frame(Opcode::kContinuation, second.substr(half), kMaskKey);
    wire += encode_masked_frame(Opcode::kText, sender.compress(message, Z_FINISH), kMaskKey, true,
                                kRsv1Bit);

    for (size_t piece : {SIZE_MAX, size_t{1000}, size_t{7}}) {
      CAPTURE(piece);
      const Reading reading = read_frames(wire, params, 1 << 20, piece);
      CHECK(reading.error == 0);
      REQUIRE(reading.messages.size() == 3);
      CHECK(reading.messages[0] == message);
      CHECK(reading.messages[1] == message);
      CHECK(reading.messages[2] == message);
    }
  }
}

TEST_CASE("inflater limit holds for final-block messages") {
  // 40,000 bytes take three inflate() calls of at most 16 KiB each.
  const std::string message = sample_text(40000);
  for (const bool no_takeover : {false, true}) {
    CAPTURE(no_takeover);
    const DeflateParams params{.client_no_context_takeover = no_takeover};
    ZlibSender sender(false);
    const std::string compressed = sender.compress(message, Z_FINISH);

    // Output of exactly the limit ends the stream on the one-byte probe past the limit, and
    // the next message still starts clean.
    Inflater exact(params);
    CHECK(inflate_message(exact, compressed, message.size()) == message);
    CHECK(inflate_message(exact, compressed, message.size()) == message);

    Inflater one_short(params);
    std::vector<char> cut;
    CHECK(one_short.feed(compressed, cut, message.size() - 1) == InflateStatus::kTooBig);
    CHECK(cut.size() == message.size() - 1);
    CHECK(cut.capacity() <= message.size() - 1);
  }
}

TEST_CASE("deflate output drops the flush tail") {
  Deflater deflater(DeflateParams{});
  const std::string compressed = deflater.compress(sample_text(500));
  REQUIRE(compressed.size() >= 4);
  CHECK(compressed.substr(compressed.size() - 4) != std::string("\x00\x00\xff\xff", 4));
}

TEST_CASE("reader inflates fragmented compressed messages") {
  const DeflateParams params;
  Deflater client(params);
  const std::string message = sample_text(100000);
  const std::string compressed = client.compress(message);
  const size_t third = compressed.size() / 3;
  std::string wire =
      encode_masked_frame(Opcode::kText, compressed.substr(0, third), kMaskKey, false, kRsv1Bit);
  wire += encode_masked_frame(Opcode::kPing, "between", kMaskKey);
  wire +=
      encode_masked_frame(Opcode::kContinuation, compressed.substr(third, third), kMaskKey, false);
  wire += encode_masked_frame(Opcode::kContinuation, compressed.substr(2 * third), kMaskKey);
  // The next message refers back to the first one through the shared window.
  wire += compressed_frame(client, Opcode::kText, message);
  wire += encode_masked_frame(Opcode::kBinary, "plain", kMaskKey);

  for (size_t piece : {SIZE_MAX, size_t{1000}, size_t{7}}) {
    const Reading reading = read_frames(wire, params, 1 << 20, piece);
    CHECK(reading.error == 0);
    REQUIRE(reading.messages.size() == 3);
    CHECK(reading.messages[0] == message);
    CHECK(reading.messages[1] == message);
    CHECK(reading.messages[2] == "plain");
  }
}

TEST_CASE("reader handles client without context takeover") {
  const DeflateParams params{.client_no_context_takeover = true};
  // The client resets its compressor after each message, as the parameter demands.
  Deflater client(DeflateParams{.server_no_context_takeover = true});
  const std::string message = sample_text(3000);
  std::string wire = compressed_frame(client, Opcode::kBinary, message);
  wire += compressed_frame(client, Opcode::kText, message);
  const Reading reading = read_frames(wire, params, 1 << 20);
  CHECK(reading.error == 0);
  REQUIRE(reading.messages.size() == 2);
  CHECK(reading.messages[1] == message);
}

TEST_CASE("reader rejects misplaced RSV1") {
  const DeflateParams params;
  Deflater client(params);
  const std::string compressed = client.compress(sample_text(300));

  const std::string on_continuation =
      encode_masked_frame(Opcode::kText, compressed.substr(0, 10), kMaskKey, false, kRsv1Bit) +
      encode_masked_frame(Opcode::kContinuation, compressed.substr(10), kMaskKey, true, kRsv1Bit);
  CHECK(read_frames(on_continuation, params, 1 << 20).error == 1002);

  const std::string on_ping = encode_masked_frame(Opcode::kPing, "x", kMaskKey, true, kRsv1Bit);
  CHECK(read_frames(on_ping, params, 1 << 20).error == 1002);

  const std::string rsv2 = encode_masked_frame(Opcode::kText, "x", kMaskKey, true, kRsv2Bit);
  CHECK(read_frames(rsv2, params, 1 << 20).error == 1002);

  const std::string unnegotiated =
      encode_masked_frame(Opcode::kText, compressed, kMaskKey, true, kRsv1Bit);
  CHECK(read_frames(unnegotiated, params, 1 << 20, SIZE_MAX, false).error == 1002);
}

TEST_CASE("reader rejects decompression bomb") {
  const DeflateParams params;
  Deflater client(params);
  // 64 MiB of zeros deflate to about 64 KiB.
  const std::string zeros(64u << 20, '\0');
  const std::string wire = compressed_frame(client, Opcode::kBinary, zeros);
  CHECK(wire.size() < (1u << 20));
  CHECK(read_frames(wire, params, 1 << 20).error == 1009);
  CHECK(read_frames(wire, params, 1 << 20, 4096).error == 1009);

  Deflater fresh_client(params);
  Inflater inflater(params);
  std::vector<char> out;
  CHECK(inflater.feed(fresh_client.compress(zeros), out, 1 << 20) == InflateStatus::kTooBig);
  CHECK(out.size() == (1u << 20));
  CHECK(out.capacity() <= (1u << 20));
}

TEST_CASE("reader accepts message of exactly the limit") {
  const DeflateParams params;
  Deflater client(params);
  const std::string message(4096, 'a');
  const std::string wire = compressed_frame(client, Opcode::kBinary, message);
  const Reading exact = read_frames(wire, params, 4096);
  CHECK(exact.error == 0);
  REQUIRE(exact.messages.size() == 1);
  CHECK(exact.messages[0] == message);

  Deflater other(params);
  CHECK(read_frames(compressed_frame(other, Opcode::kBinary, message), params, 4095).error == 1009);
}

TEST_CASE("inflater limit is exact past one chunk") {
  // 40,000 bytes take three inflate() calls of at most 16 KiB each.
  const DeflateParams params{.server_no_context_takeover = true,
                             .client_no_context_takeover = true};
  Deflater client(params);
  const std::string message = sample_text(40000);
  const std::string compressed = client.compress(message);

  Inflater exact(params);
  std::vector<char> out;
  REQUIRE(exact.feed(compressed, out, message.size()) == InflateStatus::kOk);
  REQUIRE(exact.finish(out, message.size()) == InflateStatus::kOk);
  CHECK(std::string(out.begin(), out.end()) == message);

  Inflater one_short(params);
  std::vector<char> cut;
  CHECK(one_short.feed(compressed, cut, message.size() - 1) == InflateStatus::kTooBig);
  CHECK(cut.size() == message.size() - 1);
  CHECK(cut.capacity() <= message.size() - 1);
  CHECK(std::string(cut.begin(), cut.end()) == message.substr(0, message.size() - 1));
}

TEST_CASE("inflaters on one thread interleave") {
  // Every Inflater of a thread shares one output buffer, so pieces of two messages fed in
  // turn must not mix.
  const DeflateParams params;
  Deflater first_client(params);
  Deflater second_client(params);
  const std::string first_message = sample_text(30000);
  const std::string second_message(30000, 'b');
  const std::string first = first_client.compress(first_message);
  const std::string second = second_client.compress(second_message);
  Inflater first_inflater(params);
  Inflater second_inflater(params);
  std::vector<char> first_out;
  std::vector<char> second_out;
  const size_t half = first.size() / 2;
  REQUIRE(first_inflater.feed(std::string_view(first).substr(0, half), first_out, 1 << 20) ==
          InflateStatus::kOk);
  REQUIRE(second_inflater.feed(second, second_out, 1 << 20) == InflateStatus::kOk);
  REQUIRE(first_inflater.feed(std::string_view(first).substr(half), first_out, 1 << 20) ==
          InflateStatus::kOk);
  REQUIRE(second_inflater.finish(second_out, 1 << 20) == InflateStatus::kOk);
  REQUIRE(first_inflater.finish(first_out, 1 << 20) == InflateStatus::kOk);
  CHECK(std::string(first_out.begin(), first_out.end()) == first_message);
  CHECK(std::string(second_out.begin(), second_out.end()) == second_message);
}

TEST_CASE("reader checks inflated text and data") {
  const DeflateParams params;
  Deflater client(params);
  const std::string invalid_utf8 = sample_text(200) + "\xc3\x28";
  CHECK(read_frames(compressed_frame(client, Opcode::kText, invalid_utf8), params, 1 << 20).error ==
        1007);

  const std::string garbage =
      encode_masked_frame(Opcode::kBinary, "\xff\xff\xff\xff\xff", kMaskKey, true, kRsv1Bit);
  CHECK(read_frames(garbage, params, 1 << 20).error == 1007);
}

}  // namespace parley::ws
