#include "tools/bench/options.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string_view>

namespace parley::bench {
namespace {

constexpr const char kUsage[] = R"(usage: parley-bench SCENARIO [options]

Scenarios:
  echo      WebSocket messages against any echo server: messages/s and round-trip latency
  tcp       raw bytes against a plain TCP echo server, the ceiling for echo
  chat      registers 2xN users, makes pairs friends, and each sender messages its partner:
            acks/s, deliveries/s, ack latency and delivery latency (needs parleyd)
  group     one group of --members users and --senders senders: deliveries/s and delivery
            latency at every member (needs parleyd)
  connect   WebSocket handshakes/s with --connections handshakes in flight
  idle      holds --connections WebSockets open and reports the server's bytes per connection
            (needs --server-pid)

Options:
  --url URL              ws://HOST:PORT/PATH (default ws://127.0.0.1:9001/; chat and group
                         ws://127.0.0.1:8080/chat, and for tcp only HOST:PORT counts)
  --connections N        connections, or sender/receiver pairs for chat (default 10)
  --size BYTES           payload (echo, tcp) or content (chat, group) size, at least 16 (default 32)
  --pipeline N           messages in flight per sending connection (default 1)
  --rate N               messages per second per sending connection instead of pipelining
  --duration SECONDS     measured time after every connection is open (default 5)
  --threads N            load generator threads, each with its own epoll loop (default 1)
  --source-ips N         bind connections to 127.0.0.2 .. 127.0.0.(N+1) round-robin, so that more
                         connections fit than one source address has ephemeral ports (default 0)
  --members N            group size, the creator included (default 10)
  --senders N            group members that send (default 1)
  --setup-threads N      parallel HTTP clients registering users (default 4)
  --ramp-timeout SECONDS longest wait for every connection to open (default 60)
  --server-pid PID       read the server's CPU time and VmRSS from /proc/PID
  --deflate              offer permessage-deflate (RFC 7692) with client_no_context_takeover
                         and server_no_context_takeover, so that each message is compressed on
                         its own in both directions; compress every message sent (RSV1) with
                         zlib and inflate every compressed message received. Every connection
                         fails when the server does not accept the offer. Not for tcp
  --fill x|text          what follows the timestamp in each payload or content: 'x' repeated
                         (default), or English words, which compress about as much as chat text
  --json                 print one JSON object instead of the table
  --quiet                no progress line on stderr
)";

// The options that take a value. A name is checked against them before its value is read, so
// that an unknown option is reported as unknown even when it is the last argument.
constexpr std::string_view kValueOptions[] = {
    "--url",     "--fill",          "--connections",  "--size",       "--pipeline",
    "--rate",    "--duration",      "--threads",      "--source-ips", "--members",
    "--senders", "--setup-threads", "--ramp-timeout", "--server-pid",
};

bool parse_url(std::string_view url, Options& options) {
  std::string_view rest = url;
  if (rest.rfind("ws://", 0) == 0) {
    rest.remove_prefix(5);
  } else if (rest.rfind("tcp://", 0) == 0) {
    rest.remove_prefix(6);
  } else {
    return false;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  options.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return false;
  options.host = std::string(authority.substr(0, colon));
  std::string_view port = authority.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), options.port);
  return ec == std::errc() && ptr == port.data() + port.size() && options.port > 0 &&
         options.port < 65536;
}

}  // namespace

int parse_options(int argc, char** argv, Options& options) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  options.scenario = argv[1];
  if (options.scenario == "--help" || options.scenario == "-h") {
    std::fputs(kUsage, stdout);
    return -1;
  }
  const std::string_view known[] = {"echo", "tcp", "chat", "group", "connect", "idle"};
  bool found = false;
  for (std::string_view name : known) found = found || name == options.scenario;
  if (!found) {
    std::fprintf(stderr, "parley-bench: unknown scenario '%s' (see --help)\n", argv[1]);
    return 2;
  }
  bool chat_like = options.scenario == "chat" || options.scenario == "group";
  options.port = chat_like ? 8080 : 9001;
  options.path = chat_like ? "/chat" : "/";

  for (int i = 2; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return -1;
    }
    if (flag == "--json") {
      options.json = true;
      continue;
    }
    if (flag == "--quiet") {
      options.quiet = true;
      continue;
    }
    if (flag == "--deflate") {
      options.deflate = true;
      continue;
    }
    if (std::ranges::find(kValueOptions, flag) == std::end(kValueOptions)) {
      std::fprintf(stderr, "parley-bench: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "parley-bench: %s needs a value (see --help)\n", argv[i]);
      return 2;
    }
    std::string value = argv[++i];
    if (flag == "--url") {
      if (!parse_url(value, options)) {
        std::fprintf(stderr, "parley-bench: invalid --url '%s', expected ws://HOST:PORT/PATH\n",
                     value.c_str());
        return 2;
      }
      continue;
    }
    if (flag == "--fill") {
      if (value == "x") {
        options.fill = Fill::kRepeat;
      } else if (value == "text") {
        options.fill = Fill::kText;
      } else {
        std::fprintf(stderr, "parley-bench: --fill must be x or text, got '%s'\n", value.c_str());
        return 2;
      }
      continue;
    }
    char* end = nullptr;
    double number = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || number < 0) {
      std::fprintf(stderr, "parley-bench: %s must be a non-negative number, got '%s'\n", argv[i - 1],
                   value.c_str());
      return 2;
    }
    int whole = static_cast<int>(number);
    if (flag == "--connections") {
      options.connections = whole;
    } else if (flag == "--size") {
      options.size = whole;
    } else if (flag == "--pipeline") {
      options.pipeline = whole;
    } else if (flag == "--rate") {
      options.rate = number;
    } else if (flag == "--duration") {
      options.duration = number;
    } else if (flag == "--threads") {
      options.threads = whole;
    } else if (flag == "--source-ips") {
      options.source_ips = whole;
    } else if (flag == "--members") {
      options.members = whole;
    } else if (flag == "--senders") {
      options.senders = whole;
    } else if (flag == "--setup-threads") {
      options.setup_threads = whole;
    } else if (flag == "--ramp-timeout") {
      options.ramp_timeout = number;
    } else if (flag == "--server-pid") {
      options.server_pid = static_cast<pid_t>(whole);
    } else {
      std::fprintf(stderr, "parley-bench: internal error: %s is in kValueOptions but not handled\n",
                   argv[i - 1]);
      return 2;
    }
  }

  if (options.connections < 1 || options.threads < 1 || options.pipeline < 1 ||
      options.setup_threads < 1) {
    std::fputs("parley-bench: --connections, --threads, --pipeline and --setup-threads must be "
               "at least 1\n", stderr);
    return 2;
  }
  if (options.size < 16) {
    std::fprintf(stderr, "parley-bench: --size must be at least 16 bytes to hold the send "
                 "timestamp, got %d\n", options.size);
    return 2;
  }
  if (options.source_ips > 250) {
    std::fprintf(stderr, "parley-bench: --source-ips must be at most 250, got %d\n",
                 options.source_ips);
    return 2;
  }
  if (options.scenario == "group" &&
      (options.members < 2 || options.senders < 1 || options.senders > options.members)) {
    std::fputs("parley-bench: group needs --members >= 2 and 1 <= --senders <= --members\n",
               stderr);
    return 2;
  }
  if (options.scenario == "tcp" && options.deflate) {
    std::fputs("parley-bench: --deflate needs a WebSocket scenario; tcp sends raw bytes\n",
               stderr);
    return 2;
  }
  if (options.scenario == "idle" && options.server_pid == 0) {
    std::fputs("parley-bench: idle needs --server-pid PID to read the server's memory\n", stderr);
    return 2;
  }
  return 0;
}

}  // namespace parley::bench
