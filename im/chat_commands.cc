// The chat commands that read or change stored state besides sending: sync (30), read marks
// (40), typing (41) and recall (42). Each runs its store work on a store worker and posts the
// answer back to the session's loop.

#include <algorithm>

#include "im/chat_session.h"
#include "im/client_handler.h"
#include "im/clock.h"
#include "im/config.h"
#include "im/delivery.h"
#include "im/json.h"
#include "net/log.h"
#include "ws/frame.h"

namespace parley::im {

namespace {
constexpr int64_t kRecallWindowMs = 2 * 60 * 1000;

net::SharedBytes text_frame(const std::string& json) {
  return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, json));
}

// Everyone who takes part in a conversation now: both users, or the group's members.
std::vector<int64_t> participants(store::Store& store, const store::ConvKey& conv) {
  if (conv.kind == store::ConvKey::Kind::kDirect) {
    return {conv.a, conv.b};
  }
  return store.group_member_ids(conv.a);
}

bool is_participant(store::Store& store, const store::ConvKey& conv, int64_t user) {
  if (conv.kind == store::ConvKey::Kind::kDirect) {
    return conv.a == user || conv.b == user;
  }
  return store.member_role(conv.a, user).has_value();
}
}  // namespace

void ChatSession::handle_sync(const rapidjson::Document& doc) {
  store::ConvKey conv;
  int64_t after = 0;
  bool by_conv = doc.HasMember("conv");
  if (by_conv) {
    auto conv_it = doc.FindMember("conv");
    auto after_it = doc.FindMember("after");
    if (!conv_it->value.IsString() ||
        !parse_conv_name(conv_it->value.GetString(), user_.id, conv) ||
        (after_it != doc.MemberEnd() && !after_it->value.IsInt64())) {
      send_error({}, "invalid_argument", "sync needs conv \"u:ID\" or \"g:ID\" and integer after");
      return;
    }
    after = after_it == doc.MemberEnd() ? 0 : after_it->value.GetInt64();
  } else {
    auto ts_it = doc.FindMember("after_ts");
    if (ts_it == doc.MemberEnd() || !ts_it->value.IsInt64()) {
      send_error({}, "invalid_argument", "sync needs conv and after, or after_ts");
      return;
    }
    after = ts_it->value.GetInt64();
  }
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  int64_t user = user_.id;
  server->store().read([=](store::Store& store) {
    std::vector<store::Message> messages;
    try {
      if (by_conv && !is_participant(store, conv, user)) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "you are not in this conversation"));
        return;
      }
      messages = by_conv ? store.messages_after(conv, after, kSyncLimit + 1)
                         : store.messages_after_ts(user, after, kSyncLimit + 1);
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "sync for user ", user, " failed: ", e.what());
      send_to_session(*server, loop, conn,
                      error_frame({}, "unavailable", "the store is unavailable; retry later"));
      return;
    }
    bool more = messages.size() > static_cast<size_t>(kSyncLimit);
    if (more) {
      messages.resize(static_cast<size_t>(kSyncLimit));
    }
    std::string done = json_object([&](JsonWriter& w) {
      w.Key("cmd");
      w.Int(31);
      w.Key("more");
      w.Bool(more);
    });
    LoopContext* ctx = &server->context(loop);
    ctx->loop.post([ctx, conn, user, messages = std::move(messages), done] {
      net::Connection* c = ctx->tcp->find(conn);
      ChatSession* session = c ? static_cast<ClientHandler*>(c->handler())->chat() : nullptr;
      if (session == nullptr) {
        return;
      }
      for (const store::Message& m : messages) {
        session->send_text(message_frame(m, user));
      }
      session->send_text(done);
    });
  });
}

void ChatSession::handle_read(const rapidjson::Document& doc) {
  store::ConvKey conv;
  auto conv_it = doc.FindMember("conv");
  auto seq_it = doc.FindMember("seq");
  if (conv_it == doc.MemberEnd() || !conv_it->value.IsString() ||
      !parse_conv_name(conv_it->value.GetString(), user_.id, conv) ||
      seq_it == doc.MemberEnd() || !seq_it->value.IsInt64() || seq_it->value.GetInt64() < 0) {
    send_error({}, "invalid_argument", "read needs conv \"u:ID\" or \"g:ID\" and integer seq");
    return;
  }
  int64_t seq = seq_it->value.GetInt64();
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  int64_t user = user_.id;
  server->store().read([=](store::Store& store) {
    std::vector<int64_t> others;
    try {
      if (!is_participant(store, conv, user)) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "you are not in this conversation"));
        return;
      }
      store.set_read_mark(user, conv, seq);
      others = participants(store, conv);
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "read mark for user ", user, " failed: ", e.what());
      send_to_session(*server, loop, conn,
                      error_frame({}, "unavailable", "the store is unavailable; retry later"));
      return;
    }
    std::erase(others, user);
    if (others.empty()) {
      return;
    }
    // A group's frame reads the same for every member; a direct chat has one other reader.
    std::string frame = json_object([&](JsonWriter& w) {
      w.Key("cmd");
      w.Int(40);
      w.Key("userid");
      w.Int64(user);
      w.Key("conv");
      write_string(w, conv_name(conv, others.front()));
      w.Key("seq");
      w.Int64(seq);
    });
    route_frame(*server, others, text_frame(frame));
  });
}

void ChatSession::handle_typing(const rapidjson::Document& doc) {
  auto dst_it = doc.FindMember("dstid");
  if (dst_it == doc.MemberEnd() || !dst_it->value.IsInt64() || dst_it->value.GetInt64() <= 0 ||
      dst_it->value.GetInt64() == user_.id) {
    send_error({}, "invalid_argument", "typing needs the dstid of a friend");
    return;
  }
  int64_t dst = dst_it->value.GetInt64();
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  int64_t user = user_.id;
  server->store().read([=](store::Store& store) {
    try {
      if (!store.are_friends(user, dst) || store.is_blocked(dst, user) ||
          store.is_blocked(user, dst)) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "typing is sent only to friends"));
        return;
      }
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "typing check for user ", user, " failed: ", e.what());
      return;  // typing is best-effort and not stored: dropping it loses nothing
    }
    std::string frame = json_object([&](JsonWriter& w) {
      w.Key("cmd");
      w.Int(41);
      w.Key("userid");
      w.Int64(user);
      w.Key("conv");
      write_string(w, "u:" + std::to_string(user));
    });
    route_frame(*server, {dst}, text_frame(frame));
  });
}

void ChatSession::handle_recall(const rapidjson::Document& doc) {
  auto id_it = doc.FindMember("id");
  if (id_it == doc.MemberEnd() || !id_it->value.IsInt64() || id_it->value.GetInt64() <= 0) {
    send_error({}, "invalid_argument", "recall needs the integer id of your message");
    return;
  }
  int64_t id = id_it->value.GetInt64();
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  int64_t user = user_.id;
  server->store().read([=](store::Store& store) {
    std::optional<store::Message> message;
    std::vector<int64_t> members;
    try {
      message = store.get_message(id);
      if (!message || message->sender != user) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "you can recall only your own messages"));
        return;
      }
      if (unix_ms() - message->ts > kRecallWindowMs) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "messages can be recalled within 2 minutes"));
        return;
      }
      store.recall_message(id);
      members = participants(store, message->conv);
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "recall by user ", user, " failed: ", e.what());
      send_to_session(*server, loop, conn,
                      error_frame({}, "unavailable", "the store is unavailable; retry later"));
      return;
    }
    for (int64_t member : members) {
      std::string frame = json_object([&](JsonWriter& w) {
        w.Key("cmd");
        w.Int(42);
        w.Key("id");
        w.Int64(id);
        w.Key("conv");
        write_string(w, conv_name(message->conv, member));
      });
      route_frame(*server, {member}, text_frame(frame));
    }
  });
}

}  // namespace parley::im
