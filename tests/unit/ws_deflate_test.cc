#include <doctest/doctest.h>

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

}  // namespace

TEST_CASE("extension offers parse names and parameters") {
  std::vector<ExtensionOffer> offers;
  parse_extension_list(
      "permessage-deflate; client_max_window_bits, Foo ; A=\"b\\c\" ;d=1,, x; =2", offers);
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
  wire += encode_masked_frame(Opcode::kContinuation, compressed.substr(third, third), kMaskKey,
                              false);
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

  const std::string unnegotiated = encode_masked_frame(Opcode::kText, compressed, kMaskKey, true,
                                                       kRsv1Bit);
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
  CHECK(read_frames(compressed_frame(other, Opcode::kBinary, message), params, 4095).error ==
        1009);
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
