#include "im/chat_command.h"

#include <doctest/doctest.h>

#include <string>
#include <variant>

namespace parley::im {
namespace {

using store::ConvKey;

constexpr int64_t kUser = 7;

// Decodes `text` for user 7 and returns the error, failing the test when it is not one.
CommandError decode_error(const std::string& text) {
  ChatCommand command = decode_chat_command(text, kUser);
  const auto* error = std::get_if<CommandError>(&command);
  REQUIRE_MESSAGE(error != nullptr, "expected an error for " << text);
  return *error;
}

template <typename Command>
Command decode_as(const std::string& text) {
  ChatCommand command = decode_chat_command(text, kUser);
  const auto* error = std::get_if<CommandError>(&command);
  INFO("error: " << (error ? error->message : std::string()));
  const auto* decoded = std::get_if<Command>(&command);
  REQUIRE(decoded != nullptr);
  return *decoded;
}

TEST_CASE("chat command ping") {
  CHECK(std::holds_alternative<PingCommand>(decode_chat_command(R"({"cmd":0})", kUser)));
}

TEST_CASE("chat command direct message") {
  const SendCommand send = decode_as<SendCommand>(
      R"({"cmd":10,"cid":"c1","dstid":9,"content":"hi","memo":"m","amount":-3,"userid":99})");
  const store::Message& m = send.message;
  CHECK(m.sender == kUser);
  CHECK(m.dst == 9);
  CHECK(m.conv == ConvKey::direct(kUser, 9));
  CHECK(m.cid == "c1");
  CHECK(m.content == "hi");
  CHECK(m.memo == "m");
  CHECK(m.amount == -3);
  CHECK(m.media == 1);
}

TEST_CASE("chat command group media message") {
  const SendCommand send = decode_as<SendCommand>(
      R"({"cmd":11,"dstid":7,"media":2,"url":"/media/a.png","pic":"https://x/t.png"})");
  CHECK(send.message.conv == ConvKey::group(7));
  CHECK(send.message.media == 2);
  CHECK(send.message.url == "/media/a.png");
  CHECK(send.message.pic == "https://x/t.png");
}

TEST_CASE("chat command message errors") {
  struct Case {
    const char* text;
    const char* cid;
    const char* code;
  };
  const std::string long_cid(65, 'c');
  const std::string long_content(16 * 1024 + 1, 'x');
  const Case cases[] = {
      {R"({"cmd":10,"cid":5,"dstid":2,"content":"a"})", "", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":0,"content":"a"})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":"2","content":"a"})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":2,"media":9,"content":"a"})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":2,"content":7})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":2,"url":"javascript:run"})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":2,"content":"a","amount":1.5})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":2})", "k", "invalid_argument"},
      {R"({"cmd":10,"cid":"k","dstid":7,"content":"a"})", "k", "invalid_argument"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const CommandError error = decode_error(c.text);
    CHECK(error.cid == c.cid);
    CHECK(error.code == c.code);
  }

  const CommandError too_long_cid =
      decode_error(R"({"cmd":10,"cid":")" + long_cid + R"(","dstid":2,"content":"a"})");
  CHECK(too_long_cid.cid.empty());
  const CommandError too_large =
      decode_error(R"({"cmd":10,"cid":"k","dstid":2,"content":")" + long_content + R"("})");
  CHECK(too_large.code == "too_large");
  CHECK(too_large.cid == "k");
}

TEST_CASE("chat command sync forms") {
  const SyncCommand by_conv = decode_as<SyncCommand>(R"({"cmd":30,"conv":"u:3","after":12})");
  CHECK(by_conv.by_conv);
  CHECK(by_conv.conv == ConvKey::direct(kUser, 3));
  CHECK(by_conv.after == 12);

  const SyncCommand no_after = decode_as<SyncCommand>(R"({"cmd":30,"conv":"g:4"})");
  CHECK(no_after.conv == ConvKey::group(4));
  CHECK(no_after.after == 0);

  const SyncCommand by_time = decode_as<SyncCommand>(R"({"cmd":30,"after_ts":1700000000000})");
  CHECK_FALSE(by_time.by_conv);
  CHECK(by_time.after == 1700000000000);

  decode_error(R"({"cmd":30,"conv":null,"after_ts":5})");
  decode_error(R"({"cmd":30,"conv":"u:7"})");
  decode_error(R"({"cmd":30,"conv":"g:4","after":"1"})");
  decode_error(R"({"cmd":30})");
}

TEST_CASE("chat command conv with NUL") {
  // The conv string is read with its length, so the bytes after the NUL are not ignored.
  decode_error(R"({"cmd":40,"conv":"u:5\u0000x","seq":1})");
  decode_error(R"({"cmd":30,"conv":"g:5\u0000","after":1})");
}

TEST_CASE("chat command read typing recall") {
  const ReadCommand read = decode_as<ReadCommand>(R"({"cmd":40,"conv":"g:3","seq":0})");
  CHECK(read.conv == ConvKey::group(3));
  CHECK(read.seq == 0);
  decode_error(R"({"cmd":40,"conv":"g:3","seq":-1})");
  decode_error(R"({"cmd":40,"seq":1})");

  CHECK(decode_as<TypingCommand>(R"({"cmd":41,"dstid":2})").dst == 2);
  decode_error(R"({"cmd":41,"dstid":7})");
  decode_error(R"({"cmd":41,"dstid":-2})");

  CHECK(decode_as<RecallCommand>(R"({"cmd":42,"id":15})").id == 15);
  decode_error(R"({"cmd":42,"id":0})");
}

TEST_CASE("chat command frame errors") {
  CHECK(decode_error("not json").message == "frame is not a JSON object");
  CHECK(decode_error("[1]").message == "frame is not a JSON object");
  CHECK(decode_error(R"({"cmd":"0"})").message == "missing integer field cmd");
  CHECK(decode_error(R"({"cmd":3000000000})").message == "missing integer field cmd");
  CHECK(decode_error(R"({"cmd":99})").message == "unknown cmd 99");
}

TEST_CASE("chat command deep nesting") {
  // A recursive parser would use stack for every level of this frame.
  const std::string deep(200000, '[');
  CHECK(decode_error(deep).message == "frame is not a JSON object");
  const std::string nested_member =
      R"({"cmd":0,"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK(std::holds_alternative<PingCommand>(decode_chat_command(nested_member, kUser)));
}

}  // namespace
}  // namespace parley::im
