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

void ChatSession::handle_sync(const SyncCommand& sync) {
  if (!sync_running_) {
    sync_running_ = true;
    run_sync(sync);
  } else if (queued_syncs_.size() < kMaxQueuedSyncs) {
    queued_syncs_.push_back(sync);
  } else {
    send_error({}, "rate_limited",
               "too many sync requests waiting; wait for cmd 31 before sending more");
  }
}

void ChatSession::on_sync_done() {
  if (queued_syncs_.empty()) {
    sync_running_ = false;
    return;
  }
  SyncCommand next = queued_syncs_.front();
  queued_syncs_.pop_front();
  run_sync(next);
}

namespace {
// Frame bytes after which a sync page takes no further message. JSON escaping doubles content
// of 16 KiB of '"' characters, so 1,000 such messages encode to about 32 MiB, twice the
// session's output high-water mark. Pages are therefore cut by size as well as by count.
constexpr size_t kSyncPageBudgetBytes = 1u << 20;
// Frame bytes a page of the after_ts form may take to hold the whole first millisecond of it
// when that millisecond alone passes kSyncPageBudgetBytes.
constexpr size_t kSyncMillisecondCapBytes = 8u << 20;
// WebSocket header bytes of one unmasked server frame, at most: 2, plus 8 of extended length.
constexpr size_t kFrameHeaderBytes = 10;

static_assert(kSyncMillisecondCapBytes <= ChatSession::kHighWaterBytes / 2,
              "a sync page must leave room under the high-water mark for other output");

// One sync page: the message frames to send, and whether stored messages remain after them.
struct SyncPage {
  std::vector<std::string> frames;
  bool more = false;
};

// Builds a page from `rows`, the first kSyncLimit + 1 messages after the client's position. A
// page contains at most kSyncLimit messages and stops before the message that would take its
// frames past kSyncPageBudgetBytes, but always contains at least one message when one exists.
//
// The after_ts form continues from the last ts received, so a page of that form must not end
// between two messages that share a ts. It ends before the messages that share its last ts
// instead, and if they are the whole page, it takes the rest of that millisecond too.
SyncPage build_sync_page(const std::vector<store::Message>& rows, bool by_ts, int64_t reader) {
  SyncPage page;
  size_t available = std::min(rows.size(), static_cast<size_t>(kSyncLimit));
  size_t bytes = 0;
  auto add = [&](size_t index, size_t limit) {
    std::string frame = message_frame(rows[index], reader);
    size_t size = frame.size() + kFrameHeaderBytes;
    if (!page.frames.empty() && bytes + size > limit) {
      return false;
    }
    bytes += size;
    page.frames.push_back(std::move(frame));
    return true;
  };

  size_t kept = 0;
  while (kept < available && add(kept, kSyncPageBudgetBytes)) {
    ++kept;
  }
  if (by_ts && kept < rows.size() && rows[kept].ts == rows[kept - 1].ts) {
    int64_t split_ts = rows[kept].ts;
    size_t whole = kept;
    while (whole > 0 && rows[whole - 1].ts == split_ts) {
      --whole;
    }
    if (whole > 0) {
      kept = whole;
      page.frames.resize(kept);
    } else {
      // NOTE: a millisecond with more than kSyncLimit messages, or more than
      // kSyncMillisecondCapBytes of frames, is still cut, and the client skips its tail.
      while (kept < available && rows[kept].ts == split_ts && add(kept, kSyncMillisecondCapBytes)) {
        ++kept;
      }
    }
  }
  page.more = kept < rows.size();
  return page;
}
}  // namespace

void ChatSession::run_sync(const SyncCommand& sync) {
  bool by_conv = sync.by_conv;
  store::ConvKey conv = sync.conv;
  int64_t after = sync.after;
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  int64_t user = user_.id;
  std::shared_ptr<std::atomic<bool>> alive = alive_;
  server->store().read([=](store::Store& store) {
    // Frames to send, in order; the last one always ends the sync for the session.
    std::vector<std::string> frames;
    if (!alive->load(std::memory_order_relaxed)) {
      return;  // the session closed while this job waited
    }
    try {
      if (by_conv && !is_participant(store, conv, user)) {
        frames.push_back(error_frame({}, "forbidden", "you are not in this conversation"));
      } else {
        std::vector<store::Message> rows =
            by_conv ? store.messages_after(conv, after, kSyncLimit + 1)
                    : store.messages_after_ts(user, after, kSyncLimit + 1);
        SyncPage page = build_sync_page(rows, !by_conv, user);
        frames = std::move(page.frames);
        frames.push_back(json_object([&](JsonWriter& w) {
          w.Key("cmd");
          w.Int(31);
          w.Key("more");
          w.Bool(page.more);
        }));
      }
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "sync for user ", user, " failed: ", e.what());
      frames.assign(1, error_frame({}, "unavailable", "the store is unavailable; retry later"));
    }
    LoopContext* ctx = &server->context(loop);
    ctx->loop.post([ctx, conn, frames = std::move(frames)] {
      net::Connection* c = ctx->tcp->find(conn);
      ChatSession* session = c ? static_cast<ClientHandler*>(c->handler())->chat() : nullptr;
      if (session == nullptr) {
        return;
      }
      for (const std::string& frame : frames) {
        session->send_text(frame);
      }
      session->on_sync_done();
    });
  });
}

void ChatSession::handle_read(const ReadCommand& read) {
  store::ConvKey conv = read.conv;
  int64_t seq = read.seq;
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
      if (conv.kind == store::ConvKey::Kind::kDirect) {
        int64_t other = conv.a == user ? conv.b : conv.a;
        // A mark needs a conversation with messages, so that a user cannot store marks for,
        // or push receipts to, people they never wrote with.
        if (store.messages_before(conv, 0, 1).empty()) {
          send_to_session(*server, loop, conn,
                          error_frame({}, "not_found", "this conversation has no messages"));
          return;
        }
        store.set_read_mark(user, conv, seq);
        // The mark is kept either way, but a receipt goes only to a friend who neither blocks
        // nor is blocked.
        if (other == user || !store.are_friends(user, other) || store.is_blocked(user, other) ||
            store.is_blocked(other, user)) {
          return;
        }
        others = {other};
      } else {
        store.set_read_mark(user, conv, seq);
        others = participants(store, conv);
      }
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

void ChatSession::handle_typing(const TypingCommand& typing) {
  int64_t dst = typing.dst;
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

void ChatSession::handle_recall(const RecallCommand& recall) {
  int64_t id = recall.id;
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
      if (!is_participant(store, message->conv, user)) {
        send_to_session(*server, loop, conn,
                        error_frame({}, "forbidden", "you are no longer in this conversation"));
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
