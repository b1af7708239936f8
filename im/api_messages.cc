// History and the conversation list.

#include <charconv>

#include "im/api.h"
#include "im/json.h"

namespace parley::im {

namespace {
constexpr int kDefaultPage = 50;
constexpr int kMaxPage = 200;

bool parse_int(const std::string& text, int64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}
}  // namespace

ApiResult api_conversations(ApiCall& call, store::Store& store) {
  auto conversations = store.conversations(call.user);
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("conversations");
                         w.StartArray();
                         for (const auto& c : conversations) {
                           w.StartObject();
                           w.Key("conv");
                           write_string(w, conv_name(c.conv, call.user));
                           w.Key("last");
                           w.StartObject();
                           write_message_fields(w, c.last, call.user);
                           w.EndObject();
                           w.Key("unread");
                           w.Int64(c.unread);
                           w.EndObject();
                         }
                         w.EndArray();
                       }));
}

ApiResult api_messages(ApiCall& call, store::Store& store) {
  store::ConvKey conv;
  auto conv_text = call.request.query_param("conv");
  if (!conv_text || !parse_conv_name(*conv_text, call.user, conv)) {
    return bad_request("conv must be u:USER_ID (not your own) or g:GROUP_ID");
  }
  int64_t before = 0;
  int64_t limit = kDefaultPage;
  if (auto text = call.request.query_param("before")) {
    if (!parse_int(*text, before) || before <= 0) {
      return bad_request("before must be a positive seq");
    }
  }
  if (auto text = call.request.query_param("limit")) {
    if (!parse_int(*text, limit) || limit < 1 || limit > kMaxPage) {
      return bad_request("limit must be 1-200");
    }
  }
  // A direct key is built from the caller's own id, so it is always theirs; a group needs
  // membership.
  if (conv.kind == store::ConvKey::Kind::kGroup && !store.member_role(conv.a, call.user)) {
    return forbidden("only members can read a group's history");
  }
  auto messages = store.messages_before(conv, before, static_cast<int>(limit));
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("messages");
                         w.StartArray();
                         for (const auto& m : messages) {
                           w.StartObject();
                           w.Key("cmd");
                           w.Int(m.conv.kind == store::ConvKey::Kind::kGroup ? 11 : 10);
                           write_message_fields(w, m, call.user);
                           w.EndObject();
                         }
                         w.EndArray();
                       }));
}

}  // namespace parley::im
