// MysqlStore: accounts, tokens, friends, blocks and groups. Messages, read marks and the
// conversation list are in mysql_messages.cc.

#include "store/mysql_store.h"

#include <chrono>
#include <string>
#include <utility>

#include "store/friend_request_rules.h"
#include "store/mysql_schema.h"
#include "store/rows.h"

namespace parley::store {
namespace {

using mysql::Statement;
using mysql::Transaction;

// The columns rows::read_group expects, for groups aliased g. A macro, because SQL text must
// be a constant and adjacent string literals are the simplest way to compose one.
#define PARLEY_GROUP_COLUMNS                 \
  "SELECT g.id, g.name, g.owner, g.`open`, " \
  "(SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id), g.created "

}  // namespace

int64_t MysqlStore::system_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

MysqlStore::MysqlStore(MysqlSettings settings) : connection_(std::move(settings)) {}

void MysqlStore::migrate() {
  mysql::migrate_schema(connection_);
}

// ---- Accounts ----

std::optional<User> MysqlStore::create_user(std::string_view username,
                                            std::string_view password_hash,
                                            std::string_view nickname, int64_t now_ms) {
  // The no-op update turns a taken name into zero affected rows instead of an error, like
  // SQLite's ON CONFLICT DO NOTHING. users has no other unique key that could trigger it.
  Statement insert = connection_.statement(
      "INSERT INTO users (username, password_hash, nickname, avatar, created) "
      "VALUES (?, ?, ?, '', ?) ON DUPLICATE KEY UPDATE id = id",
      "create_user");
  insert.bind(username).bind(password_hash).bind(nickname).bind(now_ms).run();
  if (insert.affected_rows() != 1) {
    return std::nullopt;
  }
  return User{insert.insert_id(), std::string(username), std::string(nickname), ""};
}

std::optional<Credentials> MysqlStore::find_credentials(std::string_view username) {
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar, password_hash FROM users WHERE username = ?",
      "find_credentials");
  query.bind(username);
  if (!query.step()) {
    return std::nullopt;
  }
  return Credentials{rows::read_user(query, 0), query.column_text(4)};
}

std::optional<User> MysqlStore::get_user(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar FROM users WHERE id = ?", "get_user");
  query.bind(user_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_user(query, 0);
}

std::vector<User> MysqlStore::get_users(const std::vector<int64_t>& user_ids) {
  // One primary-key lookup per id keeps the SQL constant, where an IN list would need SQL text
  // built for each length.
  std::vector<User> users;
  users.reserve(user_ids.size());
  for (int64_t id : user_ids) {
    if (auto user = get_user(id)) {
      users.push_back(std::move(*user));
    }
  }
  return users;
}

std::vector<User> MysqlStore::search_users(std::string_view prefix, int limit) {
  std::vector<User> users;
  if (limit <= 0) {
    return users;
  }
  // username is VARBINARY, so the range [prefix, prefix + "\xFF") contains exactly the names
  // that start with prefix: the byte 0xFF never occurs in UTF-8. The range stays on the
  // username index and, unlike LIKE, needs no escaping of wildcards in the prefix. Both bounds
  // are bound as bytes, because "\xFF" is not valid utf8mb4 text.
  std::string upper_bound(prefix);
  upper_bound += '\xFF';
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar FROM users "
      "WHERE username >= ? AND username < ? ORDER BY username LIMIT ?",
      "search_users");
  query.bind_bytes(prefix).bind_bytes(upper_bound).bind(int64_t{limit});
  while (query.step()) {
    users.push_back(rows::read_user(query, 0));
  }
  return users;
}

// ---- Tokens ----

void MysqlStore::create_token(std::string_view token_hash, int64_t user_id, int64_t now_ms) {
  connection_
      .statement("INSERT INTO tokens (token_hash, user_id, created) VALUES (?, ?, ?)",
                 "create_token")
      .bind(token_hash)
      .bind(user_id)
      .bind(now_ms)
      .run();
}

std::optional<int64_t> MysqlStore::find_token(std::string_view token_hash) {
  Statement query =
      connection_.statement("SELECT user_id FROM tokens WHERE token_hash = ?", "find_token");
  query.bind(token_hash);
  if (!query.step()) {
    return std::nullopt;
  }
  return query.column_int64(0);
}

void MysqlStore::delete_token(std::string_view token_hash) {
  connection_.statement("DELETE FROM tokens WHERE token_hash = ?", "delete_token")
      .bind(token_hash)
      .run();
}

// ---- Friends ----

namespace {

// FOR UPDATE reads the newest committed row and locks it, so that a concurrent answer to the
// same request waits instead of being overwritten.
constexpr const char* kFindRequestInState =
    "SELECT id, from_id, to_id, state, created FROM friend_requests "
    "WHERE from_id = ? AND to_id = ? AND state = ? ORDER BY id DESC LIMIT 1 FOR UPDATE";

std::optional<FriendRequest> find_request_in_state(mysql::Connection& connection, int64_t from,
                                                   int64_t to, RequestState state,
                                                   const char* operation) {
  Statement query = connection.statement(kFindRequestInState, operation);
  query.bind(from).bind(to).bind(std::string_view(rows::request_state_name(state)));
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_request(query);
}

FriendRequest insert_request(mysql::Connection& connection, int64_t from, int64_t to,
                             RequestState state, int64_t now_ms, const char* operation) {
  Statement insert = connection.statement(
      "INSERT INTO friend_requests (from_id, to_id, state, created) VALUES (?, ?, ?, ?)",
      operation);
  insert.bind(from).bind(to).bind(std::string_view(rows::request_state_name(state))).bind(now_ms);
  insert.run();
  return FriendRequest{insert.insert_id(), from, to, state, now_ms};
}

}  // namespace

void MysqlStore::lock_users(int64_t a, int64_t b, const char* operation) {
  // Locks both user rows until the transaction ends. Every transaction that changes friend
  // requests takes these locks first, so two of them on the same pair of users run one after
  // the other, as SQLite's single writer does. InnoDB locks the rows in primary-key order, so
  // two such statements cannot deadlock with each other.
  Statement lock =
      connection_.statement("SELECT id FROM users WHERE id = ? OR id = ? FOR UPDATE", operation);
  lock.bind(a).bind(b);
  while (lock.step()) {
  }
}

FriendRequest MysqlStore::create_friend_request(int64_t from, int64_t to, int64_t now_ms) {
  const char* operation = "create_friend_request";
  Transaction transaction(connection_, operation);
  lock_users(from, to, operation);
  rules::FriendRequestQueries queries;
  queries.are_friends = [this](int64_t a, int64_t b) { return are_friends(a, b); };
  queries.find = [&](int64_t sender, int64_t receiver, RequestState state) {
    return find_request_in_state(connection_, sender, receiver, state, operation);
  };
  queries.insert = [&](int64_t sender, int64_t receiver, RequestState state) {
    return insert_request(connection_, sender, receiver, state, now_ms, operation);
  };
  queries.accept = [&](const FriendRequest& request) {
    set_request_state(request.id, RequestState::kAccepted, operation);
    insert_friendship(request.from, request.to, operation);
  };
  FriendRequest result = rules::create_friend_request(queries, from, to);
  transaction.commit();
  return result;
}

std::optional<FriendRequest> MysqlStore::find_request(int64_t request_id, bool lock,
                                                      const char* operation) {
  Statement query = connection_.statement(
      lock ? "SELECT id, from_id, to_id, state, created FROM friend_requests WHERE id = ? "
             "FOR UPDATE"
           : "SELECT id, from_id, to_id, state, created FROM friend_requests WHERE id = ?",
      operation);
  query.bind(request_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_request(query);
}

void MysqlStore::set_request_state(int64_t request_id, RequestState state, const char* operation) {
  connection_.statement("UPDATE friend_requests SET state = ? WHERE id = ?", operation)
      .bind(std::string_view(rows::request_state_name(state)))
      .bind(request_id)
      .run();
}

void MysqlStore::insert_friendship(int64_t a, int64_t b, const char* operation) {
  connection_
      .statement(
          "INSERT INTO friendships (user_id, friend_id) VALUES (?, ?), (?, ?) "
          "ON DUPLICATE KEY UPDATE user_id = user_id",
          operation)
      .bind(a)
      .bind(b)
      .bind(b)
      .bind(a)
      .run();
}

std::optional<FriendRequest> MysqlStore::get_friend_request(int64_t request_id) {
  return find_request(request_id, /*lock=*/false, "get_friend_request");
}

std::vector<FriendRequest> MysqlStore::pending_requests(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT id, from_id, to_id, state, created FROM friend_requests "
      "WHERE from_id = ? AND state = 'pending' "
      "UNION ALL "
      "SELECT id, from_id, to_id, state, created FROM friend_requests "
      "WHERE to_id = ? AND state = 'pending' AND from_id <> ? "
      "ORDER BY id",
      "pending_requests");
  query.bind(user_id).bind(user_id).bind(user_id);
  std::vector<FriendRequest> requests;
  while (query.step()) {
    requests.push_back(rows::read_request(query));
  }
  return requests;
}

std::optional<FriendRequest> MysqlStore::answer_friend_request(int64_t request_id, bool accept) {
  const char* operation = "answer_friend_request";
  Transaction transaction(connection_, operation);
  // The users are locked before the request, in the order create_friend_request takes its
  // locks, so that the two cannot deadlock. The second read sees the request as it is now.
  auto request = find_request(request_id, /*lock=*/false, operation);
  if (!request) {
    return std::nullopt;
  }
  lock_users(request->from, request->to, operation);
  request = find_request(request_id, /*lock=*/true, operation);
  if (!request || request->state != RequestState::kPending) {
    return request;
  }
  request->state = accept ? RequestState::kAccepted : RequestState::kDeclined;
  set_request_state(request->id, request->state, operation);
  if (accept) {
    insert_friendship(request->from, request->to, operation);
  }
  transaction.commit();
  return request;
}

std::vector<User> MysqlStore::friends(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT u.id, u.username, u.nickname, u.avatar "
      "FROM friendships f JOIN users u ON u.id = f.friend_id "
      "WHERE f.user_id = ? ORDER BY u.username",
      "friends");
  query.bind(user_id);
  std::vector<User> users;
  while (query.step()) {
    users.push_back(rows::read_user(query, 0));
  }
  return users;
}

std::vector<int64_t> MysqlStore::friend_ids(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT friend_id FROM friendships WHERE user_id = ? ORDER BY friend_id", "friend_ids");
  query.bind(user_id);
  std::vector<int64_t> ids;
  while (query.step()) {
    ids.push_back(query.column_int64(0));
  }
  return ids;
}

bool MysqlStore::are_friends(int64_t a, int64_t b) {
  Statement query = connection_.statement(
      "SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?", "are_friends");
  query.bind(a).bind(b);
  return query.step();
}

void MysqlStore::remove_friend(int64_t a, int64_t b) {
  connection_
      .statement(
          "DELETE FROM friendships "
          "WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)",
          "remove_friend")
      .bind(a)
      .bind(b)
      .bind(b)
      .bind(a)
      .run();
}

// ---- Blocks ----

void MysqlStore::block(int64_t blocker, int64_t blocked) {
  connection_
      .statement(
          "INSERT INTO blocks (blocker, blocked) VALUES (?, ?) "
          "ON DUPLICATE KEY UPDATE blocker = blocker",
          "block")
      .bind(blocker)
      .bind(blocked)
      .run();
}

void MysqlStore::unblock(int64_t blocker, int64_t blocked) {
  connection_.statement("DELETE FROM blocks WHERE blocker = ? AND blocked = ?", "unblock")
      .bind(blocker)
      .bind(blocked)
      .run();
}

bool MysqlStore::is_blocked(int64_t blocker, int64_t blocked) {
  Statement query =
      connection_.statement("SELECT 1 FROM blocks WHERE blocker = ? AND blocked = ?", "is_blocked");
  query.bind(blocker).bind(blocked);
  return query.step();
}

// ---- Groups ----

namespace {

// Inserts the membership unless it exists. Returns whether a row was inserted: the no-op
// update of an existing membership changes no row.
bool insert_member(mysql::Connection& connection, int64_t group_id, int64_t user_id, Role role,
                   int64_t now_ms, const char* operation) {
  Statement insert = connection.statement(
      "INSERT INTO group_members (group_id, user_id, role, joined) VALUES (?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE group_id = group_id",
      operation);
  insert.bind(group_id).bind(user_id).bind(std::string_view(rows::role_name(role))).bind(now_ms);
  insert.run();
  return insert.affected_rows() == 1;
}

}  // namespace

Group MysqlStore::create_group(std::string_view name, int64_t owner,
                               const std::vector<int64_t>& members, bool open, int64_t now_ms) {
  const char* operation = "create_group";
  Transaction transaction(connection_, operation);
  Statement insert = connection_.statement(
      "INSERT INTO `groups` (name, owner, `open`, created) VALUES (?, ?, ?, ?)", operation);
  insert.bind(name).bind(owner).bind(int64_t{open ? 1 : 0}).bind(now_ms).run();
  Group group{insert.insert_id(), std::string(name), owner, open, 0, now_ms};

  if (insert_member(connection_, group.id, owner, Role::kOwner, now_ms, operation)) {
    ++group.member_count;
  }
  for (int64_t member : members) {
    if (insert_member(connection_, group.id, member, Role::kMember, now_ms, operation)) {
      ++group.member_count;
    }
  }
  transaction.commit();
  return group;
}

std::optional<Group> MysqlStore::get_group(int64_t group_id) {
  Statement query =
      connection_.statement(PARLEY_GROUP_COLUMNS "FROM `groups` g WHERE g.id = ?", "get_group");
  query.bind(group_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_group(query);
}

std::vector<Group> MysqlStore::groups_of(int64_t user_id) {
  Statement query =
      connection_.statement(PARLEY_GROUP_COLUMNS
                            "FROM group_members m JOIN `groups` g ON g.id = m.group_id "
                            "WHERE m.user_id = ? ORDER BY m.group_id",
                            "groups_of");
  query.bind(user_id);
  std::vector<Group> groups;
  while (query.step()) {
    groups.push_back(rows::read_group(query));
  }
  return groups;
}

std::vector<Member> MysqlStore::group_members(int64_t group_id) {
  Statement query = connection_.statement(
      "SELECT u.id, u.username, u.nickname, u.avatar, m.role "
      "FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? "
      "ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.user_id",
      "group_members");
  query.bind(group_id);
  std::vector<Member> members;
  while (query.step()) {
    members.push_back(Member{rows::read_user(query, 0), rows::parse_role(query.column_text(4))});
  }
  return members;
}

std::vector<int64_t> MysqlStore::group_member_ids(int64_t group_id) {
  Statement query = connection_.statement(
      "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id", "group_member_ids");
  query.bind(group_id);
  std::vector<int64_t> ids;
  while (query.step()) {
    ids.push_back(query.column_int64(0));
  }
  return ids;
}

std::optional<Role> MysqlStore::member_role(int64_t group_id, int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT role FROM group_members WHERE group_id = ? AND user_id = ?", "member_role");
  query.bind(group_id).bind(user_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::parse_role(query.column_text(0));
}

bool MysqlStore::add_member(int64_t group_id, int64_t user_id, Role role) {
  return insert_member(connection_, group_id, user_id, role, system_clock_ms(), "add_member");
}

bool MysqlStore::remove_member(int64_t group_id, int64_t user_id) {
  Statement remove = connection_.statement(
      "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", "remove_member");
  remove.bind(group_id).bind(user_id).run();
  return remove.affected_rows() == 1;
}

bool MysqlStore::set_member_role(int64_t group_id, int64_t user_id, Role role) {
  {
    Statement update = connection_.statement(
        "UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?", "set_member_role");
    update.bind(std::string_view(rows::role_name(role))).bind(group_id).bind(user_id).run();
    if (update.affected_rows() == 1) {
      return true;
    }
  }
  // Zero affected rows also means the member already had this role, which counts as success.
  return member_role(group_id, user_id).has_value();
}

#undef PARLEY_GROUP_COLUMNS

}  // namespace parley::store
