// parleyd: the parley instant-messaging server. Parses flags, starts the server, and waits for
// SIGINT or SIGTERM to stop it cleanly.

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>

#include "im/server.h"
#include "net/descriptor_limit.h"
#include "net/log.h"

namespace {

using parley::im::ServerConfig;
using parley::net::LogLevel;

constexpr const char* kUsage = R"(Usage: parleyd [OPTIONS]

The parley instant-messaging server: web client, JSON/HTTP API and WebSocket chat on one port.

Options:
  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080)
  --threads N              event-loop threads (default: one per core)
  --store-threads N        threads running blocking store calls (default 4)
  --db URL                 database: sqlite:PATH or mysql://USER:PASSWORD@HOST:PORT/DATABASE
                           (default sqlite:./data/parley.db)
  --media-dir DIR          directory for uploaded files (default ./data/media)
  --web-dir DIR            directory of the browser client (default ./web)
  --max-upload BYTES       largest accepted upload, in bytes (default 10485760)
  --max-message BYTES      largest WebSocket message, in bytes (default 65536)
  --deflate                accept the permessage-deflate extension (RFC 7692) on /chat when
                           the client offers it; replies of 64 bytes or more are then
                           compressed, frames routed to users are not (default off)
  --max-group-members N    most members one group may have (default 5000)
  --idle-timeout SECONDS   close WebSockets silent this long; pinged at half (default 60)
  --handshake-timeout MS   close a connection whose HTTP request head (a WebSocket handshake
                           included) is not complete this many milliseconds after its first
                           byte (default 10000)
  --message-rate N         chat messages per second per user, bursts of 2N; 0 = no limit
                           (default 50)
  --login-failures N       failed logins per minute per client address before logins from
                           it are rejected with 429; 0 = no limit (default 10)
  --tls-cert FILE          serve HTTPS and WSS with this PEM certificate chain; every
                           connection on the port must then speak TLS 1.2 or 1.3, and a
                           plain HTTP request gets a 400
  --tls-key FILE           the PEM private key of --tls-cert (required with it)
  --tls-handshake-timeout MS
                           close a connection whose TLS handshake is not complete this many
                           milliseconds after the accept (default 10000)
  --log-level LEVEL        debug, info, warn or error (default info)
  --help                   print this help and exit
)";

// The options that take a value. A name is checked against them before its value is read, so
// that an unknown option is reported as unknown even when it is the last argument.
constexpr std::string_view kValueOptions[] = {
    "--listen",
    "--threads",
    "--store-threads",
    "--db",
    "--media-dir",
    "--web-dir",
    "--max-upload",
    "--max-message",
    "--max-group-members",
    "--idle-timeout",
    "--handshake-timeout",
    "--message-rate",
    "--login-failures",
    "--tls-cert",
    "--tls-key",
    "--tls-handshake-timeout",
    "--log-level",
};

bool parse_number(std::string_view text, long long& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Parses argv into `config`. Returns 0 to run, or an exit code (with a message printed).
int parse_flags(int argc, char** argv, ServerConfig& config) {
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return -1;
    }
    if (flag == "--deflate") {
      config.deflate = true;
      continue;
    }
    if (std::ranges::find(kValueOptions, flag) == std::end(kValueOptions)) {
      std::fprintf(stderr, "parleyd: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "parleyd: %s needs a value (see --help)\n", argv[i]);
      return 2;
    }
    std::string value = argv[++i];
    long long number = 0;
    bool numeric = parse_number(value, number);
    auto need_positive = [&](const char* what) {
      if (!numeric || number <= 0) {
        std::fprintf(stderr, "parleyd: %s must be a positive integer, got '%s'\n", what,
                     value.c_str());
        return false;
      }
      return true;
    };
    if (flag == "--listen") {
      std::string error;
      if (!parley::net::parse_listen_address(value, config.listen, error)) {
        std::fprintf(stderr, "parleyd: --listen: %s\n", error.c_str());
        return 2;
      }
    } else if (flag == "--threads") {
      if (!need_positive("--threads"))
        return 2;
      config.threads = static_cast<int>(number);
    } else if (flag == "--store-threads") {
      if (!need_positive("--store-threads"))
        return 2;
      config.store_threads = static_cast<int>(number);
    } else if (flag == "--db") {
      config.db_url = value;
    } else if (flag == "--media-dir") {
      config.media_dir = value;
    } else if (flag == "--web-dir") {
      config.web_dir = value;
    } else if (flag == "--max-upload") {
      if (!need_positive("--max-upload"))
        return 2;
      config.max_upload_bytes = static_cast<size_t>(number);
    } else if (flag == "--max-message") {
      if (!need_positive("--max-message"))
        return 2;
      config.max_ws_message_bytes = static_cast<size_t>(number);
    } else if (flag == "--max-group-members") {
      if (!need_positive("--max-group-members"))
        return 2;
      config.max_group_members = static_cast<size_t>(number);
    } else if (flag == "--idle-timeout") {
      if (!need_positive("--idle-timeout"))
        return 2;
      config.idle_timeout_ms = number * 1000;
    } else if (flag == "--handshake-timeout") {
      if (!need_positive("--handshake-timeout"))
        return 2;
      config.handshake_timeout_ms = number;
    } else if (flag == "--message-rate" || flag == "--login-failures") {
      if (!numeric || number < 0) {
        std::fprintf(stderr, "parleyd: %s must be 0 or a positive integer, got '%s'\n",
                     std::string(flag).c_str(), value.c_str());
        return 2;
      }
      if (flag == "--message-rate") {
        config.message_rate = static_cast<double>(number);
      } else {
        config.login_failures_per_minute = static_cast<double>(number);
      }
    } else if (flag == "--tls-cert") {
      config.tls.cert_file = value;
    } else if (flag == "--tls-key") {
      config.tls.key_file = value;
    } else if (flag == "--tls-handshake-timeout") {
      if (!need_positive("--tls-handshake-timeout"))
        return 2;
      config.tls.handshake_timeout_ms = number;
    } else if (flag == "--log-level") {
      LogLevel level;
      if (!parley::net::parse_log_level(value, level)) {
        std::fprintf(stderr, "parleyd: --log-level must be debug, info, warn or error\n");
        return 2;
      }
      parley::net::set_log_level(level);
    } else {
      std::fprintf(stderr, "parleyd: internal error: %s is in kValueOptions but not handled\n",
                   argv[i - 1]);
      return 2;
    }
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    std::fprintf(stderr, "parleyd: --tls-cert and --tls-key must be given together\n");
    return 2;
  }
  return 0;
}

// Hides the password of a database URL ("mysql://user:secret@host/db") for logging.
std::string redact_url(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) {
    return url;
  }
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) {
    return url;
  }
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace

int main(int argc, char** argv) {
  ServerConfig config;
  int code = parse_flags(argc, argv, config);
  if (code != 0) {
    return code < 0 ? 0 : code;
  }
  // Block the stop signals in every thread (threads inherit the mask); main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const uint64_t descriptors = parley::net::raise_descriptor_limit();
  const uint64_t capacity = descriptors > parley::net::kReservedDescriptors * 2
                                ? descriptors - parley::net::kReservedDescriptors
                                : descriptors / 2;
  parley::net::set_connection_capacity(capacity);
  parley::im::Server server(config);
  try {
    server.start();
  } catch (const std::exception& e) {
    parley::net::log(LogLevel::kError, "parleyd failed to start: ", e.what());
    return 1;
  }
  std::string tls_note;
  if (server.config().tls.enabled()) {
    tls_note = " (TLS only, certificate " + server.config().tls.cert_file + ")";
  }
  parley::net::log(LogLevel::kInfo, "parleyd listening on ", server.config().listen.host, ":",
                   server.bound_port(), tls_note, " with ", server.config().threads,
                   " loop threads and ", server.config().store_threads, " store threads; store ",
                   redact_url(server.config().db_url), "; media ", server.config().media_dir,
                   "; web client ", server.web_files().size(), " files from ",
                   server.config().web_dir, "; up to ", descriptors, " descriptors, so at most ",
                   capacity, " connections (more are closed at once)");
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  parley::net::log(LogLevel::kInfo, "parleyd received ", strsignal(signal_number),
                   ", shutting down");
  server.stop();
  parley::net::log(LogLevel::kInfo, "parleyd stopped");
  return 0;
}
