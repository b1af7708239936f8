#pragma once
// JSON encoding of the protocol's objects (USER, REQ, GROUP, messages, errors) with RapidJSON.
// Pure functions: any thread may call them.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "store/types.h"

namespace parley::im {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view text);
void write_user(JsonWriter& w, const store::User& user);
// REQ. When given, the two users' USER objects are added as from_user and to_user.
void write_request(JsonWriter& w, const store::FriendRequest& request,
                   const store::User* from_user = nullptr, const store::User* to_user = nullptr);
void write_group(JsonWriter& w, const store::Group& group);
// Writes the message's fields (without "cmd") as seen by `reader`, whose side fixes `conv`.
void write_message_fields(JsonWriter& w, const store::Message& message, int64_t reader);
const char* role_name(store::Role role);

// "u:OTHER" for a direct chat seen by `reader`, "g:ID" for a group.
std::string conv_name(const store::ConvKey& conv, int64_t reader);
// Parses "u:ID" (ID must differ from `reader`) or "g:ID". Returns false when malformed.
bool parse_conv_name(std::string_view text, int64_t reader, store::ConvKey& conv);

// The WebSocket frame text of a delivered message: {"cmd":10 or 11, ...fields}.
std::string message_frame(const store::Message& message, int64_t reader);
// {"cmd":20,"cid","id","seq","ts","conv"}
std::string ack_frame(const store::Message& message, int64_t reader);
// {"cmd":21,"cid"?,"code","message"}
std::string error_frame(std::string_view cid, std::string_view code, std::string_view message);
// {"error":{"code","message"}}
std::string error_body(std::string_view code, std::string_view message);

// Builds a JSON text with one call: json_object([](JsonWriter& w) { w.Key("x"); ... }).
template <typename Fill>
std::string json_object(Fill&& fill) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  fill(w);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace parley::im
