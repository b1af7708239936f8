// The chat and group scenarios: messages through parleyd between logged-in users.
#include <utility>

#include "tools/bench/json_scan.h"
#include "tools/bench/scenarios.h"

namespace parley::bench {
namespace {

// Each sending connection keeps --pipeline messages in flight, counted down by acks, or sends at
// --rate. The cid carries the send time for the ack latency and the content carries it for the
// delivery latency.
class ChatScenario : public Scenario {
 public:
  ChatScenario(const Options& options, std::vector<BenchUser> users, int64_t group_id)
      : options_(options), users_(std::move(users)), group_id_(group_id) {}

  std::string path_for(int index) const override { return "/chat?token=" + users_[index].token; }
  bool ticks() const override { return options_.rate > 0; }

  void on_message(Worker& worker, Conn& conn, std::string_view frame) override {
    int64_t now = now_ns();
    int64_t cmd = -1;
    find_json_int(frame, "cmd", cmd);
    if (cmd == 1) {
      start_sending(worker, conn, now);
    } else if (cmd == 20) {
      worker.counters.replies.fetch_add(1, std::memory_order_relaxed);
      std::string_view cid;
      if (find_json_string(frame, "cid", cid) && cid.size() > 1 && worker.measuring()) {
        int64_t sent = payload_timestamp(cid.substr(1));
        if (sent >= 0) worker.reply_latency.record(static_cast<uint64_t>(now - sent));
      }
      --conn.in_flight;
      if (options_.rate <= 0 && conn.sending) send(worker, conn, now);
    } else if (cmd == 10 || cmd == 11) {
      worker.counters.deliveries.fetch_add(1, std::memory_order_relaxed);
      std::string_view content;
      if (find_json_string(frame, "content", content) && worker.measuring()) {
        int64_t sent = payload_timestamp(content);
        if (sent >= 0) worker.delivery_latency.record(static_cast<uint64_t>(now - sent));
      }
    } else if (cmd == 21) {
      worker.record_server_error(frame);
      --conn.in_flight;
      if (options_.rate <= 0 && conn.sending) send(worker, conn, now);
    }
  }

  void on_tick(Worker& worker, Conn& conn, int64_t now) override {
    if (!conn.sending) return;
    int64_t interval = static_cast<int64_t>(1e9 / options_.rate);
    while (conn.next_send_ns <= now) {
      send(worker, conn, conn.next_send_ns);
      conn.next_send_ns += interval;
    }
  }

 private:
  bool is_sender(int index) const {
    if (group_id_ > 0) return index < options_.senders;
    return index % 2 == 0;
  }

  // Starts the load once the welcome (cmd 1) shows that the session is ready.
  void start_sending(Worker& worker, Conn& conn, int64_t now) {
    if (!is_sender(conn.index) || conn.sending) return;
    conn.sending = true;
    if (options_.rate > 0) {
      int64_t interval = static_cast<int64_t>(1e9 / options_.rate);
      conn.next_send_ns = now + static_cast<int64_t>(worker.rng.next() % (interval + 1));
      return;
    }
    for (int i = 0; i < options_.pipeline; ++i) send(worker, conn, now);
  }

  void send(Worker& worker, Conn& conn, int64_t sent_ns) {
    bool group = group_id_ > 0;
    int64_t destination = group ? group_id_ : users_[conn.index + 1].id;
    std::string stamp = timestamped_payload(sent_ns, 16);
    std::string frame = group ? "{\"cmd\":11,\"dstid\":" : "{\"cmd\":10,\"dstid\":";
    frame += std::to_string(destination);
    // The sequence number keeps cids unique when two sends share a timestamp, because the
    // server may treat a repeated cid as a retry.
    frame += ",\"cid\":\"t" + stamp + "-" + std::to_string(conn.sequence++) + "\",\"content\":\"";
    frame += timestamped_payload(sent_ns, static_cast<size_t>(options_.size), options_.fill);
    frame += "\"}";
    ++conn.in_flight;
    worker.send_text(conn, frame);
  }

  const Options& options_;
  std::vector<BenchUser> users_;
  int64_t group_id_;
};

}  // namespace

std::unique_ptr<Scenario> make_chat_scenario(const Options& options, std::vector<BenchUser> users,
                                             int64_t group_id) {
  return std::make_unique<ChatScenario>(options, std::move(users), group_id);
}

}  // namespace parley::bench
