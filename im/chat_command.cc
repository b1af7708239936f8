#include "im/chat_command.h"

#include <rapidjson/document.h>

#include "im/config.h"
#include "im/json.h"

namespace parley::im {
namespace {

using Document = rapidjson::Document;

CommandError invalid(std::string cid, std::string message) {
  return CommandError{std::move(cid), "invalid_argument", std::move(message)};
}

// Reads an optional string member; returns false when present with another type or too long.
bool optional_string(const Document& doc, const char* name, size_t max_bytes, std::string& out) {
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

bool positive_int(const Document& doc, const char* name, int64_t& out) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsInt64() || it->value.GetInt64() <= 0) {
    return false;
  }
  out = it->value.GetInt64();
  return true;
}

// Parses a "u:ID" or "g:ID" member. The length is passed on, so that a string with a NUL
// such as "u:5\u0000x" is rejected as a whole instead of read as "u:5".
bool conv_member(const rapidjson::Value& value, int64_t user_id, store::ConvKey& conv) {
  return value.IsString() &&
         parse_conv_name(std::string_view(value.GetString(), value.GetStringLength()), user_id,
                         conv);
}

// Media locations are our own uploads or web links; anything else (javascript:, data:) could
// turn into script in a client that renders it.
bool acceptable_url(const std::string& url) {
  return url.empty() || url.starts_with("/media/") || url.starts_with("https://") ||
         url.starts_with("http://");
}

ChatCommand decode_send(const Document& doc, int cmd, int64_t user_id) {
  store::Message m;
  if (!optional_string(doc, "cid", kMaxCidBytes, m.cid)) {
    return invalid({}, "cid must be a string of at most 64 bytes");
  }
  int64_t dst = 0;
  if (!positive_int(doc, "dstid", dst)) {
    return invalid(m.cid, "dstid must be a positive integer");
  }

  auto media = doc.FindMember("media");
  if (media != doc.MemberEnd()) {
    if (!media->value.IsInt() || media->value.GetInt() < 1 || media->value.GetInt() > 8) {
      return invalid(m.cid, "media must be an integer from 1 to 8");
    }
    m.media = media->value.GetInt();
  }

  auto content = doc.FindMember("content");
  if (content != doc.MemberEnd() && content->value.IsString() &&
      content->value.GetStringLength() > kMaxContentBytes) {
    return CommandError{m.cid, "too_large", "content exceeds 16384 bytes"};
  }
  if (!optional_string(doc, "content", kMaxContentBytes, m.content) ||
      !optional_string(doc, "url", kMaxUrlBytes, m.url) ||
      !optional_string(doc, "pic", kMaxUrlBytes, m.pic) ||
      !optional_string(doc, "memo", kMaxMemoBytes, m.memo) || !acceptable_url(m.url) ||
      !acceptable_url(m.pic)) {
    return invalid(m.cid,
                   "content, url, pic and memo must be strings within their limits; url and pic "
                   "must be /media/ or http(s) URLs");
  }
  auto amount = doc.FindMember("amount");
  if (amount != doc.MemberEnd()) {
    if (!amount->value.IsInt64()) {
      return invalid(m.cid, "amount must be an integer");
    }
    m.amount = amount->value.GetInt64();
  }

  if (m.content.empty() && m.url.empty()) {
    return invalid(m.cid, "a message needs content or a url");
  }
  if (cmd == 10 && dst == user_id) {
    return invalid(m.cid, "dstid is your own id");
  }

  // The sender is the authenticated user, whatever the frame's userid says.
  m.sender = user_id;
  m.dst = dst;
  m.conv = cmd == 10 ? store::ConvKey::direct(user_id, dst) : store::ConvKey::group(dst);
  return SendCommand{std::move(m)};
}

ChatCommand decode_sync(const Document& doc, int64_t user_id) {
  SyncCommand sync;
  auto conv_it = doc.FindMember("conv");
  sync.by_conv = conv_it != doc.MemberEnd();
  if (sync.by_conv) {
    auto after_it = doc.FindMember("after");
    if (!conv_member(conv_it->value, user_id, sync.conv) ||
        (after_it != doc.MemberEnd() && !after_it->value.IsInt64())) {
      return invalid({}, "sync needs conv \"u:ID\" or \"g:ID\" and integer after");
    }
    sync.after = after_it == doc.MemberEnd() ? 0 : after_it->value.GetInt64();
    return sync;
  }
  auto ts_it = doc.FindMember("after_ts");
  if (ts_it == doc.MemberEnd() || !ts_it->value.IsInt64()) {
    return invalid({}, "sync needs conv and after, or after_ts");
  }
  sync.after = ts_it->value.GetInt64();
  return sync;
}

ChatCommand decode_read(const Document& doc, int64_t user_id) {
  ReadCommand read;
  auto conv_it = doc.FindMember("conv");
  auto seq_it = doc.FindMember("seq");
  if (conv_it == doc.MemberEnd() || !conv_member(conv_it->value, user_id, read.conv) ||
      seq_it == doc.MemberEnd() || !seq_it->value.IsInt64() || seq_it->value.GetInt64() < 0) {
    return invalid({}, "read needs conv \"u:ID\" or \"g:ID\" and integer seq");
  }
  read.seq = seq_it->value.GetInt64();
  return read;
}

ChatCommand decode_typing(const Document& doc, int64_t user_id) {
  auto dst_it = doc.FindMember("dstid");
  if (dst_it == doc.MemberEnd() || !dst_it->value.IsInt64() || dst_it->value.GetInt64() <= 0 ||
      dst_it->value.GetInt64() == user_id) {
    return invalid({}, "typing needs the dstid of a friend");
  }
  return TypingCommand{dst_it->value.GetInt64()};
}

ChatCommand decode_recall(const Document& doc) {
  auto id_it = doc.FindMember("id");
  if (id_it == doc.MemberEnd() || !id_it->value.IsInt64() || id_it->value.GetInt64() <= 0) {
    return invalid({}, "recall needs the integer id of your message");
  }
  return RecallCommand{id_it->value.GetInt64()};
}

}  // namespace

ChatCommand decode_chat_command(std::string_view text, int64_t user_id) {
  Document doc;
  // The iterative parser keeps its state on the heap. The default recursive one uses stack
  // in proportion to the nesting depth, which a frame of "[[[[..." can make deep enough to
  // overflow the loop thread's stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return invalid({}, "frame is not a JSON object");
  }
  auto cmd_it = doc.FindMember("cmd");
  if (cmd_it == doc.MemberEnd() || !cmd_it->value.IsInt()) {
    return invalid({}, "missing integer field cmd");
  }
  int cmd = cmd_it->value.GetInt();
  switch (cmd) {
    case 0:
      return PingCommand{};
    case 10:
    case 11:
      return decode_send(doc, cmd, user_id);
    case 30:
      return decode_sync(doc, user_id);
    case 40:
      return decode_read(doc, user_id);
    case 41:
      return decode_typing(doc, user_id);
    case 42:
      return decode_recall(doc);
    default:
      return invalid({}, "unknown cmd " + std::to_string(cmd));
  }
}

}  // namespace parley::im
