#pragma once

#include <sys/types.h>

#include <string>

namespace parley::bench {

// The filler of a payload after its 16-digit timestamp.
enum class Fill {
  kRepeat,  // 'x' repeated: compresses to almost nothing
  kText,    // English words: compresses about as much as chat text
};

struct Options {
  std::string scenario;
  // Target: ws://HOST:PORT/PATH. The chat and group scenarios send their HTTP API requests to the
  // same host and port and open /chat there.
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int connections = 10;  // chat: sender/receiver pairs, so 2x this many users and WebSockets
  int size = 32;         // bytes of payload (echo, tcp) or of message content (chat, group)
  int pipeline = 1;      // messages in flight per sending connection
  double duration = 5;   // seconds of measurement after every connection is open
  double rate = 0;       // messages per second per sending connection; 0 = pipeline mode
  int threads = 1;
  int source_ips = 0;  // bind to 127.0.0.2 .. 127.0.0.(N+1) round-robin; 0 = kernel's choice
  int members = 10;    // group
  int senders = 1;     // group
  int setup_threads = 4;
  double ramp_timeout = 60;  // seconds to wait for every connection to open
  pid_t server_pid = 0;
  bool deflate = false;  // offer permessage-deflate without context takeover
  Fill fill = Fill::kRepeat;
  bool json = false;
  bool quiet = false;
};

// Parses argv. Returns 0 to run, -1 after --help, or an exit code after printing the error.
int parse_options(int argc, char** argv, Options& options);

}  // namespace parley::bench
