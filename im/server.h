#pragma once
// The parleyd server: N event loops, the store workers, and the state each loop owns.
//
// Threads: start() and stop() are called from the main thread. Everything in a LoopContext is
// touched only by that loop's thread; other threads reach it with post(). State that all loops
// need is partitioned, not locked: conversation state lives on the loop chosen by hashing the
// conversation key, directory entries on the loop chosen by hashing the user id.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "im/config.h"
#include "im/metrics.h"
#include "im/rate_limiter.h"
#include "im/store_pool.h"
#include "im/web_files.h"
#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "store/types.h"

namespace parley::im {

class ChatSession;
class Server;

struct ConvKeyHash {
  size_t operator()(const store::ConvKey& key) const;
};

// A message submitted by a session, on its way to the conversation's owner loop.
struct Submission {
  store::Message message;
  int origin_loop = 0;
  uint64_t origin_conn = 0;
};

// What the owner loop knows about one conversation.
struct ConvState {
  enum class Status { kUnloaded, kLoading, kReady };
  Status status = Status::kUnloaded;
  bool stale = false;        // invalidated while loading: load again when the load returns
  bool allowed = false;      // direct: friends and neither blocks the other
  // Both users (direct) or the group's members. Shared so that messages in flight keep the
  // list they were authorized against without copying it.
  std::shared_ptr<const std::vector<int64_t>> members;
  std::vector<Submission> waiting;  // arrived while loading
  int64_t last_used_ms = 0;         // loop time of the last submission, for eviction
};

// Where one user's sessions are: a session count per loop.
struct DirectoryEntry {
  std::vector<uint32_t> sessions_per_loop;
  uint32_t total = 0;
};

struct LoopContext {
  LoopContext(Server& server, int index);

  Server& server;
  net::EventLoop loop;
  std::unique_ptr<net::TcpServer> tcp;
  // Sessions on this loop, by user.
  std::unordered_map<int64_t, std::vector<ChatSession*>> sessions;
  // Directory shard: users whose id hashes to this loop.
  std::unordered_map<int64_t, DirectoryEntry> directory;
  // Conversations whose key hashes to this loop.
  std::unordered_map<store::ConvKey, ConvState, ConvKeyHash> convs;
  net::TimerId sweep_timer = 0;
  net::TimerId conv_eviction_timer = 0;
};

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();

  // Opens the store, creates the schema, binds every loop's socket and starts the threads.
  // Throws std::runtime_error (or store::StoreError) with a readable message on failure.
  void start();
  // Closes every connection, stops the loops and the store workers. Main thread.
  void stop();

  const ServerConfig& config() const { return config_; }
  StorePool& store() { return *store_; }
  Metrics& metrics() { return metrics_; }
  RateLimiter& message_limiter() { return message_limiter_; }
  RateLimiter& login_limiter() { return login_limiter_; }
  const WebFiles& web_files() const { return *web_files_; }
  int loop_count() const { return static_cast<int>(loops_.size()); }
  LoopContext& context(int index) { return *loops_[static_cast<size_t>(index)]; }
  uint16_t bound_port() const { return bound_port_; }

  int owner_of(const store::ConvKey& conv) const;
  int owner_of_user(int64_t user_id) const;

  // Runs `task` on loop `index`. Any thread.
  void post(int index, net::Task task) { context(index).loop.post(std::move(task)); }

 private:
  // Sends Close 1001 to every chat session and waits up to a second for them to end. Main
  // thread, while the loops still run.
  void close_sessions_gracefully();

  ServerConfig config_;
  Metrics metrics_;
  RateLimiter message_limiter_;
  RateLimiter login_limiter_;
  std::unique_ptr<WebFiles> web_files_;
  std::unique_ptr<StorePool> store_;
  std::vector<std::unique_ptr<LoopContext>> loops_;
  std::vector<std::thread> threads_;
  uint16_t bound_port_ = 0;
};

}  // namespace parley::im
