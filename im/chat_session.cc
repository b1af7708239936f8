#include "im/chat_session.h"

#include "im/client_handler.h"
#include "im/config.h"
#include "im/delivery.h"
#include "im/json.h"
#include "net/log.h"
#include "ws/frame.h"

namespace parley::im {

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
              .high_water_mark = kHighWaterBytes}) {}

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
  recheck_token();
}

// The token was checked before the upgrade, but a logout that ran between that check and the
// registration above found no session to close. Checking again now that the session is
// registered closes that gap: a logout after this read finds the session in the table.
void ChatSession::recheck_token() {
  Server* server = &ctx_.server;
  int loop = ctx_.loop.index();
  uint64_t conn = conn_id_;
  std::string hash = token_hash_;
  std::shared_ptr<std::atomic<bool>> alive = alive_;
  server->store().read([server, loop, conn, hash, alive](store::Store& store) {
    if (!alive->load(std::memory_order_relaxed)) {
      return;
    }
    bool valid = true;
    try {
      valid = store.find_token(hash).has_value();
    } catch (const store::StoreError& e) {
      // Keep the session: the check before the upgrade passed, and logout closes it anyway.
      net::log(net::LogLevel::kWarn, "conn ", conn, ": token re-check failed: ", e.what());
      return;
    }
    if (!valid) {
      LoopContext* ctx = &server->context(loop);
      ctx->loop.post([ctx, conn] {
        net::Connection* c = ctx->tcp->find(conn);
        if (ChatSession* session = c ? static_cast<ClientHandler*>(c->handler())->chat() : nullptr) {
          session->close(1008, "logged out");
        }
      });
    }
  });
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

void ChatSession::on_closed() {
  alive_->store(false, std::memory_order_relaxed);
  unregister();
}

void ChatSession::submit(store::Message message) {
  ++messages_in_flight_;
  if (messages_in_flight_ >= kMaxMessagesInFlight && !paused_for_store_) {
    paused_for_store_ = true;
    owner_.connection().pause_reading();
  }
  submit_message(ctx_.server, Submission{std::move(message), ctx_.loop.index(), conn_id_});
}

void ChatSession::on_message_answered(std::string_view json) {
  send_text(json);
  if (messages_in_flight_ > 0) {
    --messages_in_flight_;
  }
  if (paused_for_store_ && messages_in_flight_ <= kMaxMessagesInFlight / 2) {
    paused_for_store_ = false;
    owner_.connection().resume_reading();
  }
}

void ChatSession::on_idle_check(int64_t silent_ms, int64_t idle_ms) {
  if (silent_ms <= idle_ms / 2) {
    pinged_ = false;
    return;
  }
  if (!pinged_) {
    // Also when the sweep first sees this silence past the whole timeout (a stalled loop):
    // every client gets a ping and time to answer it before it is closed.
    pinged_ = true;
    silent_ms_at_ping_ = silent_ms;
    ws_.ping();
    return;
  }
  // Closed once silent for the whole timeout and half a timeout after the ping, so a pong
  // has at least that long to arrive whatever the sweep's phase.
  if (silent_ms > idle_ms && silent_ms - silent_ms_at_ping_ >= idle_ms / 2 && !ws_.closing()) {
    net::log(net::LogLevel::kInfo, "conn ", conn_id_, " user ", user_.id,
             " closing: no traffic for ", silent_ms, " ms");
    // The closing handshake drops TCP itself if the client does not answer in time.
    ws_.close(1001, "idle timeout");
  }
}

void ChatSession::send_text(std::string_view json) {
  (void)ws_.send_text(json);
}

void ChatSession::send_frame(const net::SharedBytes& frame) {
  (void)ws_.send_frame(frame);
}

void ChatSession::close(uint16_t code, std::string_view reason) {
  ws_.close(code, reason);
}

void ChatSession::send_error(std::string_view cid, std::string_view code,
                             std::string_view message) {
  send_text(error_frame(cid, code, message));
}

void ChatSession::on_binary(ws::Session& session, std::string_view) {
  session.close(1003, "binary frames are not accepted");
}

void ChatSession::on_text(ws::Session&, std::string_view text) {
  ChatCommand command = decode_chat_command(text, user_.id);
  if (auto* error = std::get_if<CommandError>(&command)) {
    send_error(error->cid, error->code, error->message);
  } else if (std::holds_alternative<PingCommand>(command)) {
    send_text("{\"cmd\":0}");
  } else if (auto* send = std::get_if<SendCommand>(&command)) {
    submit(std::move(send->message));
  } else if (auto* sync = std::get_if<SyncCommand>(&command)) {
    handle_sync(*sync);
  } else if (auto* read = std::get_if<ReadCommand>(&command)) {
    handle_read(*read);
  } else if (auto* typing = std::get_if<TypingCommand>(&command)) {
    handle_typing(*typing);
  } else if (auto* recall = std::get_if<RecallCommand>(&command)) {
    handle_recall(*recall);
  }
}

}  // namespace parley::im
