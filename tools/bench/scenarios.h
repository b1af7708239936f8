#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/bench/load_worker.h"
#include "tools/bench/options.h"

namespace parley::bench {

// A parleyd account the chat and group scenarios log in with.
struct BenchUser {
  int64_t id = 0;
  std::string token;
};

// Writes the send time as 16 hex digits followed by `fill` up to `size` bytes.
std::string timestamped_payload(int64_t sent_ns, size_t size, Fill fill = Fill::kRepeat);
// Reads the time back from a payload that starts with timestamped_payload's digits, or -1.
int64_t payload_timestamp(std::string_view payload);

std::unique_ptr<Scenario> make_echo_scenario(const Options& options);
std::unique_ptr<Scenario> make_tcp_scenario(const Options& options);
std::unique_ptr<Scenario> make_connect_scenario(const Options& options);
std::unique_ptr<Scenario> make_idle_scenario(const Options& options);

// chat: users[2k] sends to users[2k+1]. group: the first --senders users send to `group_id`.
std::unique_ptr<Scenario> make_chat_scenario(const Options& options, std::vector<BenchUser> users,
                                             int64_t group_id);

}  // namespace parley::bench
