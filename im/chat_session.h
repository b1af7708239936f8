#pragma once
// One user's chat WebSocket: parses commands (JSON text frames) and answers them.
//
// Ownership and threads: owned by the ClientHandler of its connection and used only on that
// connection's loop. While open it is registered in the loop's session table, which is how
// deliveries find it.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "im/chat_command.h"
#include "net/connection.h"
#include "store/types.h"
#include "ws/session.h"

namespace parley::im {

class ClientHandler;
struct LoopContext;

class ChatSession final : public ws::SessionHandler {
 public:
  // Output a session may queue before it counts as a reader that stopped reading, and is
  // dropped without a Close frame. Sync pages are cut by size to stay well under it.
  static constexpr size_t kHighWaterBytes = 16u << 20;

  ChatSession(ClientHandler& owner, store::User user, std::string token_hash);
  ~ChatSession() override;

  // Registers the session and sends the welcome frame.
  void start();
  size_t on_data(char* data, size_t len) { return ws_.on_data(data, len); }
  // See ws::Session::enable_permessage_deflate(). Call it before start().
  void enable_permessage_deflate(const ws::DeflateParams& params) {
    ws_.enable_permessage_deflate(params);
  }
  // The connection closed: unregister.
  void on_closed();
  // Pings a quiet client, and closes one silent for longer than `idle_ms`.
  void on_idle_check(int64_t silent_ms, int64_t idle_ms);

  void on_text(ws::Session& session, std::string_view text) override;
  void on_binary(ws::Session& session, std::string_view data) override;

  void send_text(std::string_view json);
  void send_frame(const net::SharedBytes& frame);
  void close(uint16_t code, std::string_view reason);

  // Sends the ack or error that answers one of this session's messages, and resumes reading
  // once few enough messages wait for the store.
  void on_message_answered(std::string_view json);
  // Runs the next queued sync, if any. Called when a sync's last frame is sent.
  void on_sync_done();

  int64_t user_id() const { return user_.id; }
  const std::string& token_hash() const { return token_hash_; }
  uint64_t conn_id() const { return conn_id_; }

 private:
  void recheck_token();
  void submit(store::Message message);
  void handle_sync(const SyncCommand& sync);
  void run_sync(const SyncCommand& sync);
  void handle_read(const ReadCommand& read);
  void handle_typing(const TypingCommand& typing);
  void handle_recall(const RecallCommand& recall);
  void send_error(std::string_view cid, std::string_view code, std::string_view message);
  void unregister();

  ClientHandler& owner_;
  LoopContext& ctx_;
  store::User user_;
  std::string token_hash_;
  uint64_t conn_id_;
  ws::Session ws_;
  bool registered_ = false;
  bool pinged_ = false;
  int64_t silent_ms_at_ping_ = 0;  // the silence when the idle ping was sent

  // Back-pressure towards the store: a client may have this many messages waiting for their
  // ack before the session stops reading its socket, and reading resumes at half of it. The
  // frames already read in the same pass are still taken, so the bound is soft by one read.
  static constexpr int kMaxMessagesInFlight = 256;
  int messages_in_flight_ = 0;
  bool paused_for_store_ = false;

  // One sync runs at a time per session, and at most kMaxQueuedSyncs more wait, so a burst of
  // cmd 30 frames cannot occupy every store reader.
  static constexpr size_t kMaxQueuedSyncs = 16;
  bool sync_running_ = false;
  std::deque<SyncCommand> queued_syncs_;
  // Cleared when the connection closes, so store jobs of a gone session skip their queries.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace parley::im
