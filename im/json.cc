#include "im/json.h"

#include <charconv>

namespace parley::im {

void write_string(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_user(JsonWriter& w, const store::User& user) {
  w.StartObject();
  w.Key("id");
  w.Int64(user.id);
  w.Key("username");
  write_string(w, user.username);
  w.Key("nickname");
  write_string(w, user.nickname);
  w.Key("avatar");
  write_string(w, user.avatar);
  w.EndObject();
}

void write_request(JsonWriter& w, const store::FriendRequest& request,
                   const store::User* from_user, const store::User* to_user) {
  static constexpr const char* kStates[] = {"pending", "accepted", "declined"};
  w.StartObject();
  w.Key("id");
  w.Int64(request.id);
  w.Key("from");
  w.Int64(request.from);
  w.Key("to");
  w.Int64(request.to);
  w.Key("state");
  w.String(kStates[static_cast<int>(request.state)]);
  w.Key("created");
  w.Int64(request.created);
  if (from_user != nullptr) {
    w.Key("from_user");
    write_user(w, *from_user);
  }
  if (to_user != nullptr) {
    w.Key("to_user");
    write_user(w, *to_user);
  }
  w.EndObject();
}

void write_group(JsonWriter& w, const store::Group& group) {
  w.StartObject();
  w.Key("id");
  w.Int64(group.id);
  w.Key("name");
  write_string(w, group.name);
  w.Key("owner");
  w.Int64(group.owner);
  w.Key("open");
  w.Bool(group.open);
  w.Key("member_count");
  w.Int64(group.member_count);
  w.Key("created");
  w.Int64(group.created);
  w.EndObject();
}

const char* role_name(store::Role role) {
  switch (role) {
    case store::Role::kOwner:
      return "owner";
    case store::Role::kAdmin:
      return "admin";
    case store::Role::kMember:
      return "member";
  }
  return "member";
}

std::string conv_name(const store::ConvKey& conv, int64_t reader) {
  if (conv.kind == store::ConvKey::Kind::kGroup) {
    return "g:" + std::to_string(conv.a);
  }
  return "u:" + std::to_string(conv.a == reader ? conv.b : conv.a);
}

bool parse_conv_name(std::string_view text, int64_t reader, store::ConvKey& conv) {
  if (text.size() < 3 || text[1] != ':' || (text[0] != 'u' && text[0] != 'g')) {
    return false;
  }
  int64_t id = 0;
  const char* begin = text.data() + 2;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, id);
  if (ec != std::errc() || ptr != end || id <= 0) {
    return false;
  }
  if (text[0] == 'g') {
    conv = store::ConvKey::group(id);
    return true;
  }
  if (id == reader) {
    return false;
  }
  conv = store::ConvKey::direct(reader, id);
  return true;
}

void write_message_fields(JsonWriter& w, const store::Message& m, int64_t reader) {
  w.Key("id");
  w.Int64(m.id);
  w.Key("userid");
  w.Int64(m.sender);
  w.Key("dstid");
  w.Int64(m.dst);
  w.Key("conv");
  write_string(w, conv_name(m.conv, reader));
  w.Key("seq");
  w.Int64(m.seq);
  w.Key("ts");
  w.Int64(m.ts);
  if (!m.cid.empty()) {
    w.Key("cid");
    write_string(w, m.cid);
  }
  w.Key("media");
  w.Int(m.media);
  w.Key("content");
  write_string(w, m.content);
  if (!m.url.empty()) {
    w.Key("url");
    write_string(w, m.url);
  }
  if (!m.pic.empty()) {
    w.Key("pic");
    write_string(w, m.pic);
  }
  if (!m.memo.empty()) {
    w.Key("memo");
    write_string(w, m.memo);
  }
  if (m.amount != 0) {
    w.Key("amount");
    w.Int64(m.amount);
  }
  if (m.recalled) {
    w.Key("recalled");
    w.Bool(true);
  }
}

std::string message_frame(const store::Message& m, int64_t reader) {
  return json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(m.conv.kind == store::ConvKey::Kind::kGroup ? 11 : 10);
    write_message_fields(w, m, reader);
  });
}

std::string ack_frame(const store::Message& m, int64_t reader) {
  return json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(20);
    w.Key("cid");
    write_string(w, m.cid);
    w.Key("id");
    w.Int64(m.id);
    w.Key("seq");
    w.Int64(m.seq);
    w.Key("ts");
    w.Int64(m.ts);
    w.Key("conv");
    write_string(w, conv_name(m.conv, reader));
  });
}

std::string error_frame(std::string_view cid, std::string_view code, std::string_view message) {
  return json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(21);
    if (!cid.empty()) {
      w.Key("cid");
      write_string(w, cid);
    }
    w.Key("code");
    write_string(w, code);
    w.Key("message");
    write_string(w, message);
  });
}

std::string error_body(std::string_view code, std::string_view message) {
  return json_object([&](JsonWriter& w) {
    w.Key("error");
    w.StartObject();
    w.Key("code");
    write_string(w, code);
    w.Key("message");
    write_string(w, message);
    w.EndObject();
  });
}

}  // namespace parley::im
