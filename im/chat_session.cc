#include "im/chat_session.h"

#include "im/client_handler.h"
#include "im/config.h"
#include "im/delivery.h"
#include "im/json.h"
#include "net/log.h"
#include "ws/frame.h"

namespace parley::im {

namespace {
// Output a chat session may queue before it counts as a reader that stopped reading. A full
// sync page of maximum-size messages fits with room to spare.
constexpr size_t kChatHighWaterBytes = 16u << 20;

// Reads an optional string member; returns false when present with another type or too long.
bool optional_string(const rapidjson::Document& doc, const char* name, size_t max_bytes,
                     std::string& out) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || it->value.IsNull()) {
    return true;
  }
  if (!it->value.IsString() || it->value.GetStringLength() > max_bytes) {
    return false;
  }
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

bool positive_int(const rapidjson::Document& doc, const char* name, int64_t& out) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsInt64() || it->value.GetInt64() <= 0) {
    return false;
  }
  out = it->value.GetInt64();
  return true;
}

// Media locations are our own uploads or web links; anything else (javascript:, data:) could
// turn into script in a client that renders it.
bool acceptable_url(const std::string& url) {
  return url.empty() || url.starts_with("/media/") || url.starts_with("https://") ||
         url.starts_with("http://");
}
}  // namespace

ChatSession::ChatSession(ClientHandler& owner, store::User user, std::string token_hash)
    : owner_(owner),
      ctx_(owner.context()),
      user_(std::move(user)),
      token_hash_(std::move(token_hash)),
      conn_id_(owner.connection().id()),
      ws_(owner.connection(), *this,
          ws::SessionOptions{
              .limits = {.max_message_bytes = owner.context().server.config().max_ws_message_bytes},
              .close_timeout_ms = 3000,
              .high_water_mark = kChatHighWaterBytes}) {}

ChatSession::~ChatSession() { unregister(); }

void ChatSession::start() {
  ctx_.sessions[user_.id].push_back(this);
  registered_ = true;
  session_opened(ctx_, user_.id);
  net::log(net::LogLevel::kDebug, "conn ", conn_id_, " user ", user_.id, " websocket open");
  send_text(json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(1);
    w.Key("user");
    write_user(w, user_);
  }));
}

void ChatSession::unregister() {
  if (!registered_) {
    return;
  }
  registered_ = false;
  auto it = ctx_.sessions.find(user_.id);
  if (it != ctx_.sessions.end()) {
    std::erase(it->second, this);
    if (it->second.empty()) {
      ctx_.sessions.erase(it);
    }
  }
  session_closed(ctx_, user_.id);
}

void ChatSession::on_closed() { unregister(); }

void ChatSession::on_idle_check(int64_t silent_ms, int64_t idle_ms) {
  if (silent_ms > idle_ms) {
    net::log(net::LogLevel::kInfo, "conn ", conn_id_, " user ", user_.id,
             " closed: no traffic for ", silent_ms, " ms");
    owner_.connection().close("idle timeout");
    return;
  }
  if (silent_ms > idle_ms / 2) {
    if (!pinged_) {
      pinged_ = true;
      ws_.ping();
    }
  } else {
    pinged_ = false;
  }
}

void ChatSession::send_text(std::string_view json) { (void)ws_.send_text(json); }

void ChatSession::send_frame(const net::SharedBytes& frame) { (void)ws_.send_frame(frame); }

void ChatSession::close(uint16_t code, std::string_view reason) { ws_.close(code, reason); }

void ChatSession::send_error(std::string_view cid, std::string_view code,
                             std::string_view message) {
  send_text(error_frame(cid, code, message));
}

void ChatSession::on_binary(ws::Session& session, std::string_view) {
  session.close(1003, "binary frames are not accepted");
}

void ChatSession::on_text(ws::Session&, std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    send_error({}, "invalid_argument", "frame is not a JSON object");
    return;
  }
  auto cmd_it = doc.FindMember("cmd");
  if (cmd_it == doc.MemberEnd() || !cmd_it->value.IsInt()) {
    send_error({}, "invalid_argument", "missing integer field cmd");
    return;
  }
  int cmd = cmd_it->value.GetInt();
  switch (cmd) {
    case 0:
      send_text("{\"cmd\":0}");
      return;
    case 10:
    case 11:
      handle_message(doc, cmd);
      return;
    case 30:
      handle_sync(doc);
      return;
    case 40:
      handle_read(doc);
      return;
    case 41:
      handle_typing(doc);
      return;
    case 42:
      handle_recall(doc);
      return;
    default:
      send_error({}, "invalid_argument", "unknown cmd " + std::to_string(cmd));
  }
}

void ChatSession::handle_message(const rapidjson::Document& doc, int cmd) {
  store::Message m;
  if (!optional_string(doc, "cid", kMaxCidBytes, m.cid)) {
    send_error({}, "invalid_argument", "cid must be a string of at most 64 bytes");
    return;
  }
  int64_t dst = 0;
  if (!positive_int(doc, "dstid", dst)) {
    send_error(m.cid, "invalid_argument", "dstid must be a positive integer");
    return;
  }
  auto media = doc.FindMember("media");
  if (media != doc.MemberEnd()) {
    if (!media->value.IsInt() || media->value.GetInt() < 1 || media->value.GetInt() > 8) {
      send_error(m.cid, "invalid_argument", "media must be an integer from 1 to 8");
      return;
    }
    m.media = media->value.GetInt();
  }
  auto content = doc.FindMember("content");
  if (content != doc.MemberEnd() && content->value.IsString() &&
      content->value.GetStringLength() > kMaxContentBytes) {
    send_error(m.cid, "too_large", "content exceeds 16384 bytes");
    return;
  }
  if (!optional_string(doc, "content", kMaxContentBytes, m.content) ||
      !optional_string(doc, "url", kMaxUrlBytes, m.url) ||
      !optional_string(doc, "pic", kMaxUrlBytes, m.pic) ||
      !optional_string(doc, "memo", kMaxMemoBytes, m.memo) || !acceptable_url(m.url) ||
      !acceptable_url(m.pic)) {
    send_error(m.cid, "invalid_argument",
               "content, url, pic and memo must be strings within their limits; url and pic "
               "must be /media/ or http(s) URLs");
    return;
  }
  auto amount = doc.FindMember("amount");
  if (amount != doc.MemberEnd()) {
    if (!amount->value.IsInt64()) {
      send_error(m.cid, "invalid_argument", "amount must be an integer");
      return;
    }
    m.amount = amount->value.GetInt64();
  }
  if (m.content.empty() && m.url.empty()) {
    send_error(m.cid, "invalid_argument", "a message needs content or a url");
    return;
  }
  if (cmd == 10 && dst == user_.id) {
    send_error(m.cid, "invalid_argument", "dstid is your own id");
    return;
  }
  // The sender is the authenticated user, whatever the frame's userid says.
  m.sender = user_.id;
  m.dst = dst;
  m.conv = cmd == 10 ? store::ConvKey::direct(user_.id, dst) : store::ConvKey::group(dst);
  submit_message(ctx_.server, Submission{std::move(m), ctx_.loop.index(), conn_id_});
}

}  // namespace parley::im
