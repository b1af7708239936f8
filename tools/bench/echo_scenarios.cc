// The echo, tcp, connect and idle scenarios: load that needs no accounts.
#include <cstdio>

#include "tools/bench/filler_text.h"
#include "tools/bench/scenarios.h"

namespace parley::bench {

std::string timestamped_payload(int64_t sent_ns, size_t size, Fill fill) {
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(sent_ns));
  std::string payload(digits, 16);
  if (size > 16) append_filler(payload, size - 16, fill, static_cast<uint64_t>(sent_ns));
  return payload;
}

int64_t payload_timestamp(std::string_view payload) {
  if (payload.size() < 16) return -1;
  int64_t value = 0;
  for (size_t i = 0; i < 16; ++i) {
    char c = payload[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

namespace {

// Keeps --pipeline messages in flight on every connection, or sends at --rate, and measures the
// round trip from the timestamp each echo carries back.
class EchoScenario : public Scenario {
 public:
  EchoScenario(const Options& options, bool raw) : options_(options), raw_(raw) {}

  bool raw_tcp() const override { return raw_; }
  std::string path_for(int) const override { return options_.path; }
  bool ticks() const override { return options_.rate > 0; }

  void on_open(Worker& worker, Conn& conn) override {
    conn.sending = true;
    if (options_.rate > 0) {
      // Spread the first sends over one interval so the connections do not send in lockstep.
      int64_t interval = static_cast<int64_t>(1e9 / options_.rate);
      conn.next_send_ns = now_ns() + static_cast<int64_t>(worker.rng.next() % (interval + 1));
      return;
    }
    for (int i = 0; i < options_.pipeline; ++i) send(worker, conn, now_ns());
  }

  void on_tick(Worker& worker, Conn& conn, int64_t now) override {
    int64_t interval = static_cast<int64_t>(1e9 / options_.rate);
    // Latency counts from the scheduled time, so a stalled server cannot hide its backlog.
    while (conn.next_send_ns <= now) {
      send(worker, conn, conn.next_send_ns);
      conn.next_send_ns += interval;
    }
  }

  void on_message(Worker& worker, Conn& conn, std::string_view payload) override {
    received(worker, conn, payload);
  }

  void on_bytes(Worker& worker, Conn& conn) override {
    size_t size = static_cast<size_t>(options_.size);
    size_t offset = 0;
    while (conn.in.size() - offset >= size) {
      received(worker, conn, std::string_view(conn.in).substr(offset, size));
      offset += size;
    }
    conn.in.erase(0, offset);
  }

 private:
  void send(Worker& worker, Conn& conn, int64_t sent_ns) {
    std::string payload =
        timestamped_payload(sent_ns, static_cast<size_t>(options_.size), options_.fill);
    if (raw_) {
      worker.send_raw(conn, payload);
    } else {
      worker.send_text(conn, payload);
    }
  }

  void received(Worker& worker, Conn& conn, std::string_view payload) {
    int64_t now = now_ns();
    worker.counters.replies.fetch_add(1, std::memory_order_relaxed);
    int64_t sent = payload_timestamp(payload);
    if (sent >= 0 && worker.measuring()) worker.reply_latency.record(static_cast<uint64_t>(now - sent));
    if (options_.rate <= 0) send(worker, conn, now);
  }

  const Options& options_;
  bool raw_;
};

// Opens a WebSocket, and as soon as the 101 arrives closes it and connects again.
class ConnectScenario : public Scenario {
 public:
  explicit ConnectScenario(const Options& options) : options_(options) {}
  std::string path_for(int) const override { return options_.path; }
  void on_open(Worker& worker, Conn& conn) override { worker.reconnect(conn); }

 private:
  const Options& options_;
};

// Opens the connections and keeps them open without traffic. The server's pings are answered
// by the worker.
class IdleScenario : public Scenario {
 public:
  explicit IdleScenario(const Options& options) : options_(options) {}
  std::string path_for(int) const override { return options_.path; }

 private:
  const Options& options_;
};

}  // namespace

std::unique_ptr<Scenario> make_echo_scenario(const Options& options) {
  return std::make_unique<EchoScenario>(options, false);
}

std::unique_ptr<Scenario> make_tcp_scenario(const Options& options) {
  return std::make_unique<EchoScenario>(options, true);
}

std::unique_ptr<Scenario> make_connect_scenario(const Options& options) {
  return std::make_unique<ConnectScenario>(options);
}

std::unique_ptr<Scenario> make_idle_scenario(const Options& options) {
  return std::make_unique<IdleScenario>(options);
}

}  // namespace parley::bench
