// parley-echo: a WebSocket echo server on parley's own event loops and RFC 6455 codec. It sends
// every text and binary message back with the opcode it came with, on any request path, so
// protocol test suites can drive the codec without parleyd's chat protocol on top. It parses
// flags, starts one loop per thread, and waits for SIGINT or SIGTERM to stop cleanly.

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/descriptor_limit.h"
#include "net/event_loop.h"
#include "net/log.h"
#include "net/socket_address.h"
#include "net/tcp_server.h"
#include "ws/session.h"
#include "ws/upgrade.h"

namespace {

using parley::net::LogLevel;

constexpr const char* kUsage = R"(Usage: parley-echo [OPTIONS]

A WebSocket echo server: every text and binary message is sent back unchanged, on any path.

Options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:9001)
  --threads N               event-loop threads (default: one per core)
  --max-message BYTES       largest message, in bytes, summed over its fragments; a larger
                            one is closed with 1009 (default 16777216)
  --max-header BYTES        largest handshake request head, in bytes (default 16384)
  --handshake-timeout MS    close a connection whose handshake request is not complete this
                            many milliseconds after the accept (default 10000)
  --idle-timeout MS         ping a session silent this many milliseconds, and close it with
                            1001 after another such period without a reply; 0 disables
                            (default 60000)
  --subprotocol NAME[,NAME] subprotocols to accept, in the server's list; may be repeated.
                            The first one the client offers is selected (default: none)
  --deflate                 accept the permessage-deflate extension (RFC 7692) when the
                            client offers it, and compress echoed messages of 64 bytes or
                            more (default off)
  --tls-cert FILE           serve wss:// with this PEM certificate chain; every connection
                            must then speak TLS 1.2 or 1.3, and --handshake-timeout bounds
                            the TLS handshake too
  --tls-key FILE            the PEM private key of --tls-cert (required with it)
  --log-level LEVEL         debug, info, warn or error (default info)
  --help                    print this help and exit
)";

// 16 MiB: the largest message of the case group 9 (limits and performance) of the Autobahn
// TestSuite numbering fits.
constexpr size_t kDefaultMaxMessageBytes = size_t{16} << 20;

// How long a stop waits for clients to complete the closing handshake before dropping them.
constexpr int64_t kShutdownGraceMs = 2000;

struct EchoConfig {
  EchoConfig() { endpoint.session.limits.max_message_bytes = kDefaultMaxMessageBytes; }

  parley::net::ListenAddress listen{"127.0.0.1", 9001};
  int threads = 0;  // 0: one per core
  parley::ws::EndpointOptions endpoint;
  parley::net::TlsOptions tls;  // --tls-cert, --tls-key; off without a certificate
};

// Sends each message back as it came.
class EchoHandler final : public parley::ws::SessionHandler {
 public:
  void on_text(parley::ws::Session& session, std::string_view text) override {
    (void)session.send_text(text);
  }
  void on_binary(parley::ws::Session& session, std::string_view data) override {
    (void)session.send_binary(data);
  }
};

// Parses a decimal integer of at least `minimum` into `out`. Returns an error message, or an
// empty string on success.
template <typename Integer>
std::string parse_integer(std::string_view text, long long minimum, Integer& out) {
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < minimum) {
    return "must be an integer of at least " + std::to_string(minimum) + ", got '" +
           std::string(text) + "'";
  }
  out = static_cast<Integer>(value);
  return {};
}

std::string add_subprotocols(std::string_view list, std::vector<std::string>& out) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    if (!name.empty()) {
      out.emplace_back(name);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return {};
}

// An option that takes a value. `apply` stores the value in the config and returns an error
// message, or an empty string on success.
struct Option {
  std::string_view name;
  std::string (*apply)(const std::string& value, EchoConfig& config);
};

const Option kOptions[] = {
    {"--listen",
     [](const std::string& value, EchoConfig& config) {
       std::string error;
       parley::net::parse_listen_address(value, config.listen, error);
       return error;
     }},
    {"--threads", [](const std::string& value,
                     EchoConfig& config) { return parse_integer(value, 1, config.threads); }},
    {"--max-message",
     [](const std::string& value, EchoConfig& config) {
       return parse_integer(value, 1, config.endpoint.session.limits.max_message_bytes);
     }},
    {"--max-header",
     [](const std::string& value, EchoConfig& config) {
       return parse_integer(value, 256, config.endpoint.http.max_header_bytes);
     }},
    {"--handshake-timeout",
     [](const std::string& value, EchoConfig& config) {
       return parse_integer(value, 1, config.endpoint.handshake_timeout_ms);
     }},
    {"--idle-timeout",
     [](const std::string& value, EchoConfig& config) {
       return parse_integer(value, 0, config.endpoint.idle_timeout_ms);
     }},
    {"--subprotocol",
     [](const std::string& value, EchoConfig& config) {
       return add_subprotocols(value, config.endpoint.subprotocols);
     }},
    {"--tls-cert",
     [](const std::string& value, EchoConfig& config) {
       config.tls.cert_file = value;
       return std::string();
     }},
    {"--tls-key",
     [](const std::string& value, EchoConfig& config) {
       config.tls.key_file = value;
       return std::string();
     }},
    {"--log-level",
     [](const std::string& value, EchoConfig&) {
       LogLevel level;
       if (!parley::net::parse_log_level(value, level)) {
         return std::string("must be debug, info, warn or error");
       }
       parley::net::set_log_level(level);
       return std::string();
     }},
};

// Parses argv into `config`. Returns 0 to run, -1 after --help, or an exit code (with a
// message printed).
int parse_flags(int argc, char** argv, EchoConfig& config) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return -1;
    }
    if (flag == "--deflate") {
      config.endpoint.deflate.enabled = true;
      continue;
    }
    const Option* option = nullptr;
    for (const Option& candidate : kOptions) {
      if (candidate.name == flag) {
        option = &candidate;
      }
    }
    if (option == nullptr) {
      std::fprintf(stderr, "parley-echo: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "parley-echo: %s needs a value (see --help)\n", argv[i]);
      return 2;
    }
    const std::string error = option->apply(argv[i + 1], config);
    if (!error.empty()) {
      std::fprintf(stderr, "parley-echo: %s %s\n", argv[i], error.c_str());
      return 2;
    }
    ++i;
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    std::fprintf(stderr, "parley-echo: --tls-cert and --tls-key must be given together\n");
    return 2;
  }
  return 0;
}

// The event loops, each with its own listening socket (SO_REUSEPORT) and timeout sweep.
class EchoServer {
 public:
  explicit EchoServer(EchoConfig config) : config_(std::move(config)) {
    // EchoHandler has no state, so every session of every loop shares one.
    factory_ = [handler = std::make_shared<EchoHandler>()](const parley::net::HttpRequest&,
                                                           std::string_view) {
      return std::shared_ptr<parley::ws::SessionHandler>(handler);
    };
  }
  ~EchoServer() { stop(); }

  // Starts the threads and binds every loop. Throws std::runtime_error on failure.
  void start();
  // Closes every session with 1001, waits up to kShutdownGraceMs for the closing handshakes,
  // then closes what is left and joins the threads. Main thread.
  void stop();
  uint16_t bound_port() const { return bound_port_; }

 private:
  struct Loop {
    explicit Loop(int index) : loop(index) {}
    parley::net::EventLoop loop;
    std::unique_ptr<parley::net::TcpServer> tcp;
  };

  // Runs `task` on `loop` and waits for it. Returns the message of what it threw, or "".
  static std::string run_on(Loop& loop, const std::function<void(Loop&)>& task);
  // Starts the closing handshake on every session and closes connections still in their
  // handshake. Returns once every loop has done so.
  void close_sessions();
  size_t connection_count();

  EchoConfig config_;
  parley::ws::SessionHandlerFactory factory_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  uint16_t bound_port_ = 0;
};

std::string EchoServer::run_on(Loop& loop, const std::function<void(Loop&)>& task) {
  std::promise<std::string> done;
  loop.loop.post([&] {
    try {
      task(loop);
      done.set_value("");
    } catch (const std::exception& e) {
      done.set_value(e.what());
    }
  });
  return done.get_future().get();
}

void EchoServer::start() {
  // Every loop binds with SO_REUSEPORT, which would let this server share a port that another
  // one listens on. Fail before any thread starts instead.
  parley::net::check_address_free(config_.listen);
  const parley::ws::EndpointOptions* endpoint = &config_.endpoint;
  const parley::ws::SessionHandlerFactory* factory = &factory_;
  // One TLS context for every loop, loaded before any thread starts.
  std::shared_ptr<const parley::net::TlsContext> tls;
  if (config_.tls.enabled()) {
    parley::net::TlsOptions options = config_.tls;
    options.handshake_timeout_ms = config_.endpoint.handshake_timeout_ms;
    tls = std::make_shared<const parley::net::TlsContext>(options);
  }
  for (int i = 0; i < config_.threads; ++i) {
    auto loop = std::make_unique<Loop>(i);
    loop->tcp = std::make_unique<parley::net::TcpServer>(
        loop->loop,
        [endpoint, factory](parley::net::Connection& conn) {
          conn.set_handler(std::make_unique<parley::ws::UpgradeHandler>(conn, *endpoint, *factory));
        },
        tls);
    loops_.push_back(std::move(loop));
  }
  for (auto& loop : loops_) {
    parley::net::EventLoop* raw = &loop->loop;
    threads_.emplace_back([raw] { raw->run(); });
  }
  // Loop 0 binds first: with port 0 it picks the port that every other loop then shares.
  parley::net::ListenAddress address = config_.listen;
  for (auto& loop : loops_) {
    const std::string error = run_on(*loop, [&](Loop& own) {
      own.tcp->listen(address);
      parley::ws::start_timeout_sweep(own.loop, *own.tcp, *endpoint);
    });
    if (!error.empty()) {
      stop();
      throw std::runtime_error(error);
    }
    address.port = loop->tcp->bound_port();
  }
  bound_port_ = address.port;
}

void EchoServer::close_sessions() {
  for (auto& loop : loops_) {
    (void)run_on(*loop, [](Loop& own) {
      own.tcp->for_each([](parley::net::Connection& conn) {
        auto* handler = static_cast<parley::ws::UpgradeHandler*>(conn.handler());
        if (handler != nullptr && handler->session() != nullptr) {
          handler->session()->close(parley::ws::to_uint(parley::ws::CloseCode::kGoingAway),
                                    "server shutting down");
        } else {
          conn.close("server shutting down");
        }
      });
    });
  }
}

size_t EchoServer::connection_count() {
  size_t count = 0;
  for (auto& loop : loops_) {
    (void)run_on(*loop, [&count](Loop& own) { count += own.tcp->connection_count(); });
  }
  return count;
}

void EchoServer::stop() {
  if (threads_.empty()) {
    return;
  }
  close_sessions();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kShutdownGraceMs);
  while (connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& loop : loops_) {
    (void)run_on(*loop, [](Loop& own) { own.tcp->shutdown(); });
  }
  for (auto& loop : loops_) {
    loop->loop.stop();
  }
  for (auto& thread : threads_) {
    thread.join();
  }
  threads_.clear();
  loops_.clear();
}

// Blocks SIGINT and SIGTERM in the calling thread and returns their set. Called before the
// loop threads start, so they inherit the mask and only main's sigwait() receives the signals.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : {SIGINT, SIGTERM}) {
    sigaddset(&set, signal_number);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  EchoConfig config;
  const int code = parse_flags(argc, argv, config);
  if (code != 0) {
    return code < 0 ? 0 : code;
  }
  if (config.threads <= 0) {
    const unsigned cores = std::thread::hardware_concurrency();
    config.threads = cores == 0 ? 1 : static_cast<int>(cores);
  }
  // An echo keeps one message in the input buffer while its copy waits in the output queue, so
  // the queue may contain two maximum-size messages before the peer counts as not reading.
  parley::ws::SessionOptions& session = config.endpoint.session;
  session.high_water_mark = std::max(session.high_water_mark, 2 * session.limits.max_message_bytes);

  const sigset_t stop_signals = block_stop_signals();
  signal(SIGPIPE, SIG_IGN);

  const parley::ws::EndpointOptions& endpoint = config.endpoint;
  const std::string summary = std::to_string(config.threads) + " loop threads; max message " +
                              std::to_string(endpoint.session.limits.max_message_bytes) +
                              " bytes; handshake timeout " +
                              std::to_string(endpoint.handshake_timeout_ms) + " ms; idle timeout " +
                              std::to_string(endpoint.idle_timeout_ms) + " ms" +
                              (endpoint.deflate.enabled ? "; permessage-deflate on" : "");
  const std::string tls_note =
      config.tls.enabled() ? "; TLS only, certificate " + config.tls.cert_file : "";
  const std::string host = config.listen.host;
  const uint64_t descriptors = parley::net::raise_descriptor_limit();
  const uint64_t capacity = descriptors > parley::net::kReservedDescriptors * 2
                                ? descriptors - parley::net::kReservedDescriptors
                                : descriptors / 2;
  parley::net::set_connection_capacity(capacity);
  EchoServer server(std::move(config));
  try {
    server.start();
  } catch (const std::exception& e) {
    parley::net::log(LogLevel::kError, "parley-echo failed to start: ", e.what());
    return 1;
  }
  parley::net::log(LogLevel::kInfo, "parley-echo listening on ", host, ":", server.bound_port(),
                   " with ", summary, tls_note, "; up to ", descriptors,
                   " descriptors, so at most ", capacity, " connections (more are closed at once)");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const std::string stop_reason = strsignal(signal_number);
  parley::net::log(LogLevel::kInfo, "parley-echo shutting down on ", stop_reason);
  server.stop();
  parley::net::log(LogLevel::kInfo, "parley-echo stopped: every connection closed");
  return 0;
}
