#include "im/delivery.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "im/chat_session.h"
#include "im/client_handler.h"
#include "im/clock.h"
#include "im/json.h"
#include "net/log.h"
#include "ws/frame.h"

namespace parley::im {

namespace {

net::SharedBytes text_frame(const std::string& json) {
  return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, json));
}

// Last hop: queue the frame on the sessions this loop holds for `users`.
void deliver_local(LoopContext& ctx, const std::vector<int64_t>& users,
                   const net::SharedBytes& frame, uint64_t exclude_conn) {
  int64_t delivered = 0;
  for (int64_t user : users) {
    auto it = ctx.sessions.find(user);
    if (it == ctx.sessions.end()) {
      continue;
    }
    // Most users have one session: take it by value, with no copy of the vector.
    if (it->second.size() == 1) {
      ChatSession* session = it->second.front();
      if (session->conn_id() != exclude_conn) {
        session->send_frame(frame);
        ++delivered;
      }
      continue;
    }
    // Copy: a send that overflows closes the session, which edits the vector.
    std::vector<ChatSession*> sessions = it->second;
    for (ChatSession* session : sessions) {
      if (session->conn_id() != exclude_conn) {
        session->send_frame(frame);
        ++delivered;
      }
    }
  }
  ctx.server.metrics().messages_delivered.fetch_add(delivered, std::memory_order_relaxed);
}

// Middle hop, on a directory loop: find the loops holding sessions of `users`.
void route_from_directory(LoopContext& ctx, const std::vector<int64_t>& users,
                          const net::SharedBytes& frame, uint64_t exclude_conn) {
  Server& server = ctx.server;
  std::vector<std::vector<int64_t>> per_loop(static_cast<size_t>(server.loop_count()));
  for (int64_t user : users) {
    auto it = ctx.directory.find(user);
    if (it == ctx.directory.end()) {
      continue;
    }
    for (size_t loop = 0; loop < per_loop.size(); ++loop) {
      if (it->second.sessions_per_loop[loop] > 0) {
        per_loop[loop].push_back(user);
      }
    }
  }
  for (size_t loop = 0; loop < per_loop.size(); ++loop) {
    if (per_loop[loop].empty()) {
      continue;
    }
    LoopContext* target = &server.context(static_cast<int>(loop));
    if (target == &ctx) {
      deliver_local(ctx, per_loop[loop], frame, exclude_conn);
      continue;
    }
    target->loop.post([target, users = std::move(per_loop[loop]), frame, exclude_conn] {
      deliver_local(*target, users, frame, exclude_conn);
    });
  }
}

void reply_error(Server& server, const Submission& s, std::string_view code,
                 std::string_view message) {
  answer_submission(server, s.origin_loop, s.origin_conn,
                    error_frame(s.message.cid, code, message));
}

// On the owner loop, after the writer committed (or failed) a message.
void on_stored(LoopContext& ctx, const Submission& s, const InsertOutcome& outcome,
               const std::vector<int64_t>& members) {
  Server& server = ctx.server;
  if (!outcome.ok) {
    server.metrics().store_errors.fetch_add(1, std::memory_order_relaxed);
    reply_error(server, s, "unavailable", "the message could not be stored; retry later");
    return;
  }
  const store::Message& m = outcome.result.message;
  // The ack goes only to the sending session; it means the message is durable.
  answer_submission(server, s.origin_loop, s.origin_conn, ack_frame(m, m.sender));
  if (outcome.result.duplicate) {
    return;  // delivered when it was first stored
  }
  server.metrics().messages_stored.fetch_add(1, std::memory_order_relaxed);
  if (m.conv.kind == store::ConvKey::Kind::kGroup) {
    route_frame(server, members, text_frame(message_frame(m, 0)), s.origin_conn);
    return;
  }
  // A direct message reads differently from each side: "u:SENDER" for the recipient,
  // "u:RECIPIENT" for the sender's other sessions.
  route_frame(server, {m.dst}, text_frame(message_frame(m, m.dst)), s.origin_conn);
  route_frame(server, {m.sender}, text_frame(message_frame(m, m.sender)), s.origin_conn);
}

void store_submission(LoopContext& ctx, Submission s,
                      std::shared_ptr<const std::vector<int64_t>> members) {
  LoopContext* owner = &ctx;
  store::Message message = s.message;
  auto done = [owner, s = std::move(s), members = std::move(members)](InsertOutcome outcome) {
    owner->loop.post([owner, s, members, outcome = std::move(outcome)] {
      on_stored(*owner, s, outcome, *members);
    });
  };
  ctx.server.store().insert_message(std::move(message), std::move(done));
}

void authorize_and_store(LoopContext& ctx, ConvState& state, Submission s) {
  // Stamped here, on the conversation's one owner loop, so ts never decreases along seq.
  s.message.ts = unix_ms();
  const store::Message& m = s.message;
  if (m.conv.kind == store::ConvKey::Kind::kDirect) {
    if (!state.allowed) {
      reply_error(ctx.server, s, "forbidden",
                  "you can message only friends, and neither of you may block the other");
      return;
    }
  } else {
    bool member = false;
    for (int64_t id : *state.members) {
      member = member || id == m.sender;
    }
    if (!member) {
      reply_error(ctx.server, s, "forbidden", "you are not a member of this group");
      return;
    }
  }
  store_submission(ctx, std::move(s), state.members);
}

void load_conv(LoopContext& ctx, const store::ConvKey& conv);

void on_conv_loaded(LoopContext& ctx, const store::ConvKey& conv, bool ok, bool allowed,
                    std::vector<int64_t> members) {
  auto it = ctx.convs.find(conv);
  if (it == ctx.convs.end()) {
    return;
  }
  ConvState& state = it->second;
  if (state.stale) {
    state.stale = false;
    load_conv(ctx, conv);  // changed while loading: the answer may be out of date
    return;
  }
  std::vector<Submission> waiting;
  waiting.swap(state.waiting);
  if (!ok) {
    state.status = ConvState::Status::kUnloaded;
    for (Submission& s : waiting) {
      reply_error(ctx.server, s, "unavailable", "the store is unavailable; retry later");
    }
    return;
  }
  state.status = ConvState::Status::kReady;
  state.allowed = allowed;
  state.members = std::make_shared<const std::vector<int64_t>>(std::move(members));
  for (Submission& s : waiting) {
    authorize_and_store(ctx, state, std::move(s));
  }
}

void load_conv(LoopContext& ctx, const store::ConvKey& conv) {
  ctx.convs[conv].status = ConvState::Status::kLoading;
  LoopContext* owner = &ctx;
  ctx.server.store().read([owner, conv](store::Store& store) {
    bool ok = true;
    bool allowed = false;
    std::vector<int64_t> members;
    try {
      if (conv.kind == store::ConvKey::Kind::kDirect) {
        allowed = store.are_friends(conv.a, conv.b) && !store.is_blocked(conv.a, conv.b) &&
                  !store.is_blocked(conv.b, conv.a);
        members = {conv.a, conv.b};
      } else {
        members = store.group_member_ids(conv.a);
      }
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "loading conversation state failed: ", e.what());
      ok = false;
    }
    owner->loop.post([owner, conv, ok, allowed, members = std::move(members)]() mutable {
      on_conv_loaded(*owner, conv, ok, allowed, std::move(members));
    });
  });
}

// On the owner loop.
void accept_submission(LoopContext& ctx, Submission s) {
  ConvState& state = ctx.convs[s.message.conv];
  state.last_used_ms = ctx.loop.now_ms();
  switch (state.status) {
    case ConvState::Status::kReady:
      authorize_and_store(ctx, state, std::move(s));
      return;
    case ConvState::Status::kLoading:
      state.waiting.push_back(std::move(s));
      return;
    case ConvState::Status::kUnloaded: {
      store::ConvKey conv = s.message.conv;
      state.waiting.push_back(std::move(s));
      load_conv(ctx, conv);
      return;
    }
  }
}

// On a directory loop: count a session up or down and announce presence changes.
void update_directory(LoopContext& ctx, int64_t user, int loop, int delta) {
  DirectoryEntry& entry = ctx.directory[user];
  if (entry.sessions_per_loop.empty()) {
    entry.sessions_per_loop.resize(static_cast<size_t>(ctx.server.loop_count()), 0);
  }
  uint32_t before = entry.total;
  entry.sessions_per_loop[static_cast<size_t>(loop)] += static_cast<uint32_t>(delta);
  entry.total += static_cast<uint32_t>(delta);
  bool online = entry.total > 0;
  if (!online) {
    ctx.directory.erase(user);
  }
  if ((before == 0) == !online) {
    return;  // presence did not change
  }
  // The friend list is read on whichever store reader is free, so the lookups for a quick
  // online-offline pair can finish in either order. Each result therefore goes back to this
  // loop and announces the state the directory contains then, so the last frame sent is right.
  Server* server = &ctx.server;
  LoopContext* directory = &ctx;
  server->store().read([server, directory, user](store::Store& store) {
    std::vector<int64_t> friends;
    try {
      friends = store.friend_ids(user);
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "presence of user ", user, ": ", e.what());
      return;
    }
    directory->loop.post([server, directory, user, friends = std::move(friends)] {
      bool online_now = directory->directory.count(user) != 0;
      std::string frame = json_object([&](JsonWriter& w) {
        w.Key("cmd");
        w.Int(50);
        w.Key("userid");
        w.Int64(user);
        w.Key("online");
        w.Bool(online_now);
      });
      route_frame(*server, friends, text_frame(frame));
    });
  });
}

}  // namespace

void submit_message(Server& server, Submission submission) {
  if (!server.message_limiter().allow(static_cast<uint64_t>(submission.message.sender),
                                      unix_ms())) {
    server.metrics().messages_rate_limited.fetch_add(1, std::memory_order_relaxed);
    answer_submission(server, submission.origin_loop, submission.origin_conn,
                      error_frame(submission.message.cid, "rate_limited",
                                  "too many messages; retry after a short pause"));
    return;
  }
  LoopContext* owner = &server.context(server.owner_of(submission.message.conv));
  owner->loop.post(
      [owner, s = std::move(submission)]() mutable { accept_submission(*owner, std::move(s)); });
}

void route_frame(Server& server, const std::vector<int64_t>& users, net::SharedBytes frame,
                 uint64_t exclude_conn) {
  std::vector<std::vector<int64_t>> per_shard(static_cast<size_t>(server.loop_count()));
  for (int64_t user : users) {
    per_shard[static_cast<size_t>(server.owner_of_user(user))].push_back(user);
  }
  for (size_t shard = 0; shard < per_shard.size(); ++shard) {
    if (per_shard[shard].empty()) {
      continue;
    }
    LoopContext* target = &server.context(static_cast<int>(shard));
    target->loop.post([target, users = std::move(per_shard[shard]), frame, exclude_conn] {
      route_from_directory(*target, users, frame, exclude_conn);
    });
  }
}

void send_to_session(Server& server, int loop_index, uint64_t conn_id, std::string frame) {
  LoopContext* ctx = &server.context(loop_index);
  ctx->loop.post([ctx, conn_id, frame = std::move(frame)] {
    net::Connection* conn = ctx->tcp->find(conn_id);
    if (conn == nullptr) {
      return;
    }
    if (ChatSession* session = static_cast<ClientHandler*>(conn->handler())->chat()) {
      session->send_text(frame);
    }
  });
}

void answer_submission(Server& server, int loop_index, uint64_t conn_id, std::string frame) {
  LoopContext* ctx = &server.context(loop_index);
  ctx->loop.post([ctx, conn_id, frame = std::move(frame)] {
    net::Connection* conn = ctx->tcp->find(conn_id);
    if (conn == nullptr) {
      return;
    }
    if (ChatSession* session = static_cast<ClientHandler*>(conn->handler())->chat()) {
      session->on_message_answered(frame);
    }
  });
}

void invalidate_conv(Server& server, const store::ConvKey& conv) {
  LoopContext* owner = &server.context(server.owner_of(conv));
  owner->loop.post([owner, conv] {
    auto it = owner->convs.find(conv);
    if (it == owner->convs.end()) {
      return;
    }
    if (it->second.status == ConvState::Status::kLoading) {
      it->second.stale = true;
    } else {
      owner->convs.erase(it);
    }
  });
}

void start_conv_eviction(LoopContext& ctx) {
  // A conversation unused this long is loaded again from the store when it is next used.
  // Without eviction the cache grows with every conversation ever written to, including
  // rejected ones (messages to strangers).
  constexpr int64_t kIdleMs = 10 * 60 * 1000;
  constexpr int64_t kIntervalMs = 60 * 1000;
  LoopContext* raw = &ctx;
  ctx.conv_eviction_timer = ctx.loop.run_every(kIntervalMs, [raw] {
    int64_t now = raw->loop.now_ms();
    std::erase_if(raw->convs, [now](const auto& entry) {
      const ConvState& state = entry.second;
      // Messages in flight hold their own reference to the member list, so a ready entry
      // with nothing waiting can go.
      return state.status == ConvState::Status::kReady && state.waiting.empty() &&
             now - state.last_used_ms > kIdleMs;
    });
  });
}

void close_token_sessions(Server& server, const std::string& token_hash) {
  for (int i = 0; i < server.loop_count(); ++i) {
    LoopContext* ctx = &server.context(i);
    ctx->loop.post([ctx, token_hash] {
      std::vector<ChatSession*> matching;
      for (auto& [user, sessions] : ctx->sessions) {
        for (ChatSession* session : sessions) {
          if (session->token_hash() == token_hash) {
            matching.push_back(session);
          }
        }
      }
      for (ChatSession* session : matching) {
        session->close(1008, "logged out");
      }
    });
  }
}

void session_opened(LoopContext& ctx, int64_t user_id) {
  ctx.server.metrics().websocket_sessions.fetch_add(1, std::memory_order_relaxed);
  LoopContext* shard = &ctx.server.context(ctx.server.owner_of_user(user_id));
  int loop = ctx.loop.index();
  shard->loop.post([shard, user_id, loop] { update_directory(*shard, user_id, loop, +1); });
}

void session_closed(LoopContext& ctx, int64_t user_id) {
  ctx.server.metrics().websocket_sessions.fetch_sub(1, std::memory_order_relaxed);
  LoopContext* shard = &ctx.server.context(ctx.server.owner_of_user(user_id));
  int loop = ctx.loop.index();
  shard->loop.post([shard, user_id, loop] { update_directory(*shard, user_id, loop, -1); });
}

void query_online(Server& server, int origin_loop, std::vector<int64_t> users,
                  std::function<void(std::unordered_set<int64_t>)> done) {
  struct Gather {
    std::atomic<int> remaining{0};
    std::mutex mutex;  // guards `online`; shards answer from different threads
    std::unordered_set<int64_t> online;
    std::function<void(std::unordered_set<int64_t>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  std::vector<std::vector<int64_t>> per_shard(static_cast<size_t>(server.loop_count()));
  for (int64_t user : users) {
    per_shard[static_cast<size_t>(server.owner_of_user(user))].push_back(user);
  }
  int shards = 0;
  for (auto& list : per_shard) {
    shards += list.empty() ? 0 : 1;
  }
  Server* srv = &server;
  auto finish = [srv, origin_loop, gather] {
    srv->post(origin_loop, [gather] { gather->done(std::move(gather->online)); });
  };
  if (shards == 0) {
    finish();
    return;
  }
  gather->remaining.store(shards);
  for (size_t shard = 0; shard < per_shard.size(); ++shard) {
    if (per_shard[shard].empty()) {
      continue;
    }
    LoopContext* target = &server.context(static_cast<int>(shard));
    target->loop.post([target, list = std::move(per_shard[shard]), gather, finish] {
      {
        std::lock_guard lock(gather->mutex);
        for (int64_t user : list) {
          if (target->directory.count(user) != 0) {
            gather->online.insert(user);
          }
        }
      }
      if (gather->remaining.fetch_sub(1) == 1) {
        finish();
      }
    });
  }
}

}  // namespace parley::im
