#include "tools/bench/account_setup.h"

#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "tools/bench/http_client.h"
#include "tools/bench/json_scan.h"
#include "tools/bench/load_worker.h"

namespace parley::bench {
namespace {

constexpr const char kPassword[] = "bench-password";

// Runs task(client, i) for i in [0, count) on --setup-threads threads, stopping at the first
// failure.
bool run_parallel(const Options& options, int count,
                  const std::function<bool(HttpClient&, int, std::string&)>& task,
                  std::string& error) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  int thread_count = std::min(options.setup_threads, count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&] {
      HttpClient client(options.host, options.port);
      for (int i = next++; i < count && !failed; i = next++) {
        std::string why;
        if (!task(client, i, why)) {
          std::lock_guard lock(error_mutex);
          if (!failed.exchange(true)) error = why;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return !failed;
}

std::string describe(std::string_view what, int status, const std::string& body) {
  return std::string(what) + " failed with status " + std::to_string(status) + ": " + body;
}

}  // namespace

bool create_users(const Options& options, int count, std::vector<BenchUser>& users,
                  std::string& error) {
  users.assign(count, BenchUser{});
  // A prefix unique to this run lets several runs share one database.
  std::string prefix = "pb" + std::to_string(now_ns() / 1'000'000 % 100'000'000) + "_" +
                       std::to_string(getpid() % 100'000) + "_";
  return run_parallel(
      options, count,
      [&](HttpClient& client, int i, std::string& why) {
        std::string credentials = "{\"username\":\"" + prefix + std::to_string(i) +
                                  "\",\"password\":\"" + kPassword + "\"}";
        std::string body;
        int status = client.request("POST", "/api/register", "", credentials, body);
        if (status != 201) {
          why = describe("POST /api/register", status, body);
          return false;
        }
        status = client.request("POST", "/api/login", "", credentials, body);
        std::string_view token;
        if (status != 200 || !find_json_string(body, "token", token) ||
            !find_json_int(body, "id", users[i].id)) {
          why = describe("POST /api/login", status, body);
          return false;
        }
        users[i].token = std::string(token);
        return true;
      },
      error);
}

namespace {

// Sends a friend request from `from` to `to` and accepts it as `to`.
bool befriend(HttpClient& client, const BenchUser& from, const BenchUser& to, std::string& why) {
  std::string body;
  int status = client.request("POST", "/api/friends/requests", from.token,
                              "{\"user_id\":" + std::to_string(to.id) + "}", body);
  int64_t request_id = 0;
  if (status != 201 || !find_json_int(body, "id", request_id)) {
    why = describe("POST /api/friends/requests", status, body);
    return false;
  }
  std::string path = "/api/friends/requests/" + std::to_string(request_id) + "/accept";
  status = client.request("POST", path, to.token, "", body);
  if (status != 200) {
    why = describe("POST " + path, status, body);
    return false;
  }
  return true;
}

}  // namespace

bool befriend_pairs(const Options& options, const std::vector<BenchUser>& users,
                    std::string& error) {
  return run_parallel(
      options, static_cast<int>(users.size() / 2),
      [&](HttpClient& client, int k, std::string& why) {
        return befriend(client, users[2 * k], users[2 * k + 1], why);
      },
      error);
}

int64_t create_group(const Options& options, const std::vector<BenchUser>& users,
                     std::string& error) {
  bool friends = run_parallel(
      options, static_cast<int>(users.size()) - 1,
      [&](HttpClient& client, int i, std::string& why) {
        return befriend(client, users[0], users[i + 1], why);
      },
      error);
  if (!friends) return 0;
  std::string request = "{\"name\":\"bench\",\"members\":[";
  for (size_t i = 1; i < users.size(); ++i) {
    if (i > 1) request += ',';
    request += std::to_string(users[i].id);
  }
  request += "]}";
  HttpClient client(options.host, options.port);
  std::string body;
  int status = client.request("POST", "/api/groups", users[0].token, request, body);
  int64_t group_id = 0;
  if (status != 201 || !find_json_int(body, "id", group_id)) {
    error = describe("POST /api/groups", status, body);
    return 0;
  }
  return group_id;
}

}  // namespace parley::bench
