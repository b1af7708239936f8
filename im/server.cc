#include "im/server.h"

#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "im/chat_session.h"
#include "im/client_handler.h"
#include "im/delivery.h"
#include "net/log.h"
#include "net/socket_address.h"

namespace parley::im {

size_t ConvKeyHash::operator()(const store::ConvKey& key) const {
  int64_t parts[3] = {static_cast<int64_t>(key.kind), key.a, key.b};
  return static_cast<size_t>(XXH3_64bits(parts, sizeof parts));
}

LoopContext::LoopContext(Server& owner, int index) : server(owner), loop(index) {}

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      message_limiter_(config_.message_rate, 2 * config_.message_rate),
      login_limiter_(config_.login_failures_per_minute / 60.0, config_.login_failures_per_minute) {
  if (config_.threads <= 0) {
    unsigned cores = std::thread::hardware_concurrency();
    config_.threads = cores == 0 ? 1 : static_cast<int>(cores);
  }
}

Server::~Server() { stop(); }

int Server::owner_of(const store::ConvKey& conv) const {
  return static_cast<int>(ConvKeyHash{}(conv) % loops_.size());
}

int Server::owner_of_user(int64_t user_id) const {
  return static_cast<int>(XXH3_64bits(&user_id, sizeof user_id) % loops_.size());
}

namespace {
// Creates the media directory if needed and checks that files can be written there, so a
// wrong --media-dir stops start-up instead of failing the first upload with a 500.
void check_media_dir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    throw std::runtime_error("cannot create the media directory '" + dir +
                             "': " + error.message() + " (set another with --media-dir)");
  }
  std::filesystem::path probe = std::filesystem::path(dir) / ".parley-write-check";
  std::FILE* file = std::fopen(probe.c_str(), "w");
  if (file == nullptr) {
    throw std::runtime_error("the media directory '" + dir + "' is not writable: " +
                             std::strerror(errno) + " (set another with --media-dir)");
  }
  std::fclose(file);
  std::filesystem::remove(probe, error);
}
}  // namespace

void Server::start() {
  // One context for every loop, loaded before anything starts so a bad certificate or key
  // stops start-up with the file name and the OpenSSL reason.
  std::shared_ptr<const net::TlsContext> tls;
  if (config_.tls.enabled()) {
    tls = std::make_shared<const net::TlsContext>(config_.tls);
  }
  web_files_ = std::make_unique<WebFiles>(config_.web_dir);
  check_media_dir(config_.media_dir);
  {
    auto schema = store::open_store(config_.db_url);
    schema->migrate();
  }
  store_ = std::make_unique<StorePool>(config_.db_url, config_.store_threads);
  store_->start();

  for (int i = 0; i < config_.threads; ++i) {
    auto ctx = std::make_unique<LoopContext>(*this, i);
    LoopContext* raw = ctx.get();
    ctx->tcp = std::make_unique<net::TcpServer>(
        ctx->loop, [this, raw](net::Connection& conn) { on_accept(*raw, conn); }, tls);
    loops_.push_back(std::move(ctx));
  }
  for (auto& ctx : loops_) {
    net::EventLoop* loop = &ctx->loop;
    threads_.emplace_back([loop] { loop->run(); });
  }

  // Bind loop 0 first: with port 0 it picks the port that every other loop then shares.
  net::ListenAddress address = config_.listen;
  try {
    net::check_address_free(address);
  } catch (const std::exception&) {
    stop();
    throw;
  }
  for (auto& ctx : loops_) {
    std::promise<std::string> bound;
    LoopContext* raw = ctx.get();
    ctx->loop.post([raw, &bound, address] {
      try {
        raw->tcp->listen(address);
        start_sweeps(*raw);
        start_conv_eviction(*raw);
        bound.set_value("");
      } catch (const std::exception& e) {
        bound.set_value(e.what());
      }
    });
    std::string error = bound.get_future().get();
    if (!error.empty()) {
      stop();
      throw std::runtime_error(error);
    }
    address.port = ctx->tcp->bound_port();
  }
  bound_port_ = address.port;
}


void Server::close_sessions_gracefully() {
  for (auto& ctx : loops_) {
    LoopContext* raw = ctx.get();
    raw->loop.post([raw] {
      // Copied first: closing a session may remove it from the map.
      std::vector<ChatSession*> sessions;
      for (auto& [user, list] : raw->sessions) {
        sessions.insert(sessions.end(), list.begin(), list.end());
      }
      for (ChatSession* session : sessions) {
        session->close(1001, "server is shutting down");
      }
    });
  }
  // Clients reply to a Close within a round trip, so waiting longer would only delay the exit.
  constexpr auto kGrace = std::chrono::milliseconds(1000);
  auto deadline = std::chrono::steady_clock::now() + kGrace;
  while (metrics_.websocket_sessions.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Server::stop() {
  if (threads_.empty()) {
    return;
  }
  close_sessions_gracefully();
  for (auto& ctx : loops_) {
    LoopContext* raw = ctx.get();
    std::promise<void> done;
    raw->loop.post([raw, &done] {
      raw->tcp->shutdown();
      done.set_value();
    });
    done.get_future().wait();
  }
  for (auto& ctx : loops_) {
    ctx->loop.stop();
  }
  for (auto& thread : threads_) {
    thread.join();
  }
  threads_.clear();
  // Loops are gone, so store results can no longer be posted anywhere useful; the pool still
  // finishes its queue so every acknowledged write is committed before exit.
  store_->stop();
  loops_.clear();
}

}  // namespace parley::im
