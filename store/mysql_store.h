#pragma once
// The MySQL and MariaDB backend of Store, over the MySQL C API.
//
// Ownership and threads: a MysqlStore is one connection to the server, used by one thread at a
// time (one store worker). Give each worker its own MysqlStore. Every method blocks on network
// round trips to the server.
//
// Availability: a method that cannot reach the server throws StoreError, and the next call
// reconnects (with a backoff after failed attempts, see mysql_connection.h). So a server that
// goes away makes calls fail until it is back, and then they work again without a restart.
//
// Durability: a method that returns has committed its changes. They survive a crash of the
// database server as far as its settings allow: InnoDB's default
// innodb_flush_log_at_trx_commit = 1 writes and syncs the redo log at every commit.
//
// Semantics are those of SqliteStore, method by method (see sqlite_store.h), and the same
// contract tests run on both. Times that the interface does not pass in (the `joined` time of
// add_member, and the ts of a message inserted with ts == 0) come from the system clock.
//
// Limits the SQLite backend does not have: a username, token hash or message cid longer than
// 255 bytes, message content of 16 MiB or more, and any other text of 64 KiB or more (TEXT
// columns) fail with StoreError, because strict SQL mode rejects what does not fit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/mysql_connection.h"
#include "store/mysql_url.h"
#include "store/store.h"

namespace parley::store {

class MysqlStore : public Store {
 public:
  // Connects to the server. Throws StoreError when it cannot connect or log in.
  explicit MysqlStore(MysqlSettings settings);

  void migrate() override;

  std::optional<User> create_user(std::string_view username, std::string_view password_hash,
                                  std::string_view nickname, int64_t now_ms) override;
  std::optional<Credentials> find_credentials(std::string_view username) override;
  std::optional<User> get_user(int64_t user_id) override;
  // Returns the users that exist, in the order of `user_ids`.
  std::vector<User> get_users(const std::vector<int64_t>& user_ids) override;
  std::vector<User> search_users(std::string_view prefix, int limit) override;

  void create_token(std::string_view token_hash, int64_t user_id, int64_t now_ms) override;
  std::optional<int64_t> find_token(std::string_view token_hash) override;
  void delete_token(std::string_view token_hash) override;

  FriendRequest create_friend_request(int64_t from, int64_t to, int64_t now_ms) override;
  std::optional<FriendRequest> get_friend_request(int64_t request_id) override;
  // Oldest first.
  std::vector<FriendRequest> pending_requests(int64_t user_id) override;
  // A request that is no longer pending is returned unchanged.
  std::optional<FriendRequest> answer_friend_request(int64_t request_id, bool accept) override;
  // Ordered by username.
  std::vector<User> friends(int64_t user_id) override;
  // Ascending.
  std::vector<int64_t> friend_ids(int64_t user_id) override;
  bool are_friends(int64_t a, int64_t b) override;
  void remove_friend(int64_t a, int64_t b) override;

  void block(int64_t blocker, int64_t blocked) override;
  void unblock(int64_t blocker, int64_t blocked) override;
  bool is_blocked(int64_t blocker, int64_t blocked) override;

  // A member listed twice, or the owner listed as a member, is added once.
  Group create_group(std::string_view name, int64_t owner, const std::vector<int64_t>& members,
                     bool open, int64_t now_ms) override;
  std::optional<Group> get_group(int64_t group_id) override;
  // Ordered by group id.
  std::vector<Group> groups_of(int64_t user_id) override;
  // The owner first, then admins, then members, each ordered by user id.
  std::vector<Member> group_members(int64_t group_id) override;
  // Ascending.
  std::vector<int64_t> group_member_ids(int64_t group_id) override;
  std::optional<Role> member_role(int64_t group_id, int64_t user_id) override;
  bool add_member(int64_t group_id, int64_t user_id, Role role) override;
  bool remove_member(int64_t group_id, int64_t user_id) override;
  bool set_member_role(int64_t group_id, int64_t user_id, Role role) override;

  std::vector<InsertResult> insert_messages(const std::vector<Message>& batch) override;
  std::vector<Message> messages_before(const ConvKey& conv, int64_t before_seq, int limit) override;
  std::vector<Message> messages_after(const ConvKey& conv, int64_t after_seq, int limit) override;
  std::vector<Message> messages_after_ts(int64_t user_id, int64_t after_ts, int limit) override;
  std::optional<Message> get_message(int64_t message_id) override;
  std::optional<Message> recall_message(int64_t message_id) override;

  // The store does not check `seq` against the conversation's last seq: a mark above it makes
  // later messages count as read, so the caller should pass only seqs it has seen.
  void set_read_mark(int64_t user_id, const ConvKey& conv, int64_t seq) override;
  // Ties on the last message's ts are broken by the newer message id first.
  std::vector<ConversationSummary> conversations(int64_t user_id) override;

 private:
  [[nodiscard]] std::optional<FriendRequest> find_request(int64_t request_id, bool lock,
                                                          const char* operation);
  void lock_users(int64_t a, int64_t b, const char* operation);
  void set_request_state(int64_t request_id, RequestState state, const char* operation);
  void insert_friendship(int64_t a, int64_t b, const char* operation);
  // Unix ms, for the times the interface does not pass in.
  static int64_t system_clock_ms();

  mysql::Connection connection_;
};

}  // namespace parley::store
