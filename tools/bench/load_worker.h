#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/histogram.h"
#include "tools/bench/message_compression.h"
#include "tools/bench/options.h"
#include "tools/bench/ws_client_codec.h"

namespace parley::bench {

int64_t now_ns();

// Counters one worker updates and the progress thread reads. Relaxed atomics: each has one writer.
struct Counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> replies{0};     // echoes (echo, tcp) or acks (chat, group)
  std::atomic<uint64_t> deliveries{0};  // chat and group messages received from other users
  std::atomic<uint64_t> handshakes{0};  // 101 responses, or TCP connects for tcp
  std::atomic<uint64_t> open{0};        // connections open right now
  std::atomic<uint64_t> refused{0};     // connect() failed
  std::atomic<uint64_t> rejected{0};    // the upgrade got a status other than 101
  std::atomic<uint64_t> dropped{0};     // the server closed or reset an open connection
  std::atomic<uint64_t> server_errors{0};  // cmd 21 frames
};

struct CounterSnapshot {
  uint64_t sent, replies, deliveries, handshakes, open, refused, rejected, dropped, server_errors;
};

struct Conn {
  enum class State { kIdle, kConnecting, kHandshake, kOpen };
  int index = 0;  // position among all connections of the run
  int fd = -1;
  State state = State::kIdle;
  std::string out;
  size_t out_offset = 0;
  std::string in;
  std::string fragments;  // a fragmented message being reassembled
  bool fragments_compressed = false;  // its first frame had RSV1 set
  bool deflate = false;  // the server accepted permessage-deflate on this connection
  std::string key;        // Sec-WebSocket-Key
  int64_t started_ns = 0;  // when connect() was called
  // Scenario state.
  int in_flight = 0;
  uint64_t sequence = 0;  // messages sent on this connection, for unique client ids
  int64_t next_send_ns = 0;
  bool sending = false;  // the scenario started its load on this connection
};

class Worker;

// The load a scenario puts on each connection. Hooks run on the connection's worker thread.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual bool raw_tcp() const { return false; }
  virtual std::string path_for(int index) const = 0;
  // Whether on_tick must run about every millisecond (rate mode).
  virtual bool ticks() const { return false; }
  virtual void on_open(Worker&, Conn&) {}
  virtual void on_message(Worker&, Conn&, std::string_view) {}
  // tcp: called with everything read so far; consumes whole messages from conn.in.
  virtual void on_bytes(Worker&, Conn&) {}
  virtual void on_tick(Worker&, Conn&, int64_t) {}
};

// Flags the main thread sets and every worker reads.
struct RunControl {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
};

// One thread with its own epoll loop and its share of the connections.
class Worker {
 public:
  Worker(const Options& options, Scenario& scenario, RunControl& control, int id,
         std::vector<int> indexes);
  ~Worker();

  void run();

  void send_text(Conn& conn, std::string_view payload);
  void send_raw(Conn& conn, std::string_view bytes);
  // Closes the connection without a closing handshake and connects it again (connect scenario).
  void reconnect(Conn& conn);
  void record_server_error(std::string_view frame);

  bool measuring() const { return control_.measuring.load(std::memory_order_relaxed); }

  Counters counters;
  Histogram reply_latency;
  Histogram delivery_latency;
  Histogram handshake_latency;
  XorShift rng;
  // The first failure message, for the final report.
  std::mutex error_mutex;
  std::string first_error;

 private:
  void start_connect(Conn& conn);
  void on_event(Conn& conn, uint32_t events);
  void on_connected(Conn& conn);
  bool read_input(Conn& conn);
  void process_input(Conn& conn);
  void process_frames(Conn& conn);
  // Inflates a message that had RSV1 set, then passes it to the scenario.
  void deliver(Conn& conn, std::string_view payload, bool compressed);
  void flush(Conn& conn);
  void close_conn(Conn& conn);
  void fail(Conn& conn, std::atomic<uint64_t>& counter, const std::string& why);
  void open_pending();

  const Options& options_;
  Scenario& scenario_;
  RunControl& control_;
  int id_;
  int epoll_fd_ = -1;
  std::vector<Conn> conns_;
  size_t next_pending_ = 0;  // conns_[next_pending_..] have not connected yet
  int connecting_ = 0;       // connections between connect() and the end of the handshake
  // Without context takeover one compressor and one decompressor serve every connection.
  MessageCompressor compressor_;
  MessageDecompressor decompressor_;
  std::string compressed_;  // the last message compressed
  std::string inflated_;    // the last message inflated
};

}  // namespace parley::bench
