// SqliteStore: accounts, tokens, friends, blocks and groups. Messages, read marks and the
// conversation list are in sqlite_messages.cc.

#include "store/sqlite_store.h"

#include <string>

#include "store/friend_request_rules.h"
#include "store/rows.h"
#include "store/sqlite_schema.h"

namespace parley::store {
namespace {

using detail::Statement;
using detail::Transaction;

using rows::parse_role;
using rows::read_group;
using rows::read_request;
using rows::read_user;
using rows::request_state_name;
using rows::role_name;

}  // namespace

SqliteStore::SqliteStore(const std::string& path) : connection_(path) {}

void SqliteStore::migrate() {
  detail::migrate_schema(connection_);
}

// ---- Accounts ----

std::optional<User> SqliteStore::create_user(std::string_view username,
                                             std::string_view password_hash,
                                             std::string_view nickname, int64_t now_ms) {
  connection_
      .statement(
          "INSERT INTO users (username, password_hash, nickname, created) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT (username) DO NOTHING",
          "create_user")
      .bind(1, username)
      .bind(2, password_hash)
      .bind(3, nickname)
      .bind(4, now_ms)
      .run();
  if (connection_.changes() == 0) {
    return std::nullopt;
  }
  return User{connection_.last_insert_rowid(), std::string(username), std::string(nickname), ""};
}

std::optional<Credentials> SqliteStore::find_credentials(std::string_view username) {
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar, password_hash FROM users WHERE username = ?1",
      "find_credentials");
  query.bind(1, username);
  if (!query.step()) {
    return std::nullopt;
  }
  return Credentials{read_user(query, 0), query.column_text(4)};
}

std::optional<User> SqliteStore::get_user(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar FROM users WHERE id = ?1", "get_user");
  query.bind(1, user_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_user(query, 0);
}

std::vector<User> SqliteStore::get_users(const std::vector<int64_t>& user_ids) {
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

std::vector<User> SqliteStore::search_users(std::string_view prefix, int limit) {
  std::vector<User> users;
  if (limit <= 0) {
    return users;
  }
  // The range [prefix, prefix + "\xFF") contains exactly the usernames that start with prefix,
  // because the byte 0xFF never occurs in UTF-8. A range keeps the search on the username index,
  // and unlike LIKE or GLOB it needs no escaping of wildcard characters in the prefix.
  std::string upper_bound(prefix);
  upper_bound += '\xFF';
  Statement query = connection_.statement(
      "SELECT id, username, nickname, avatar FROM users "
      "WHERE username >= ?1 AND username < ?2 ORDER BY username LIMIT ?3",
      "search_users");
  query.bind(1, prefix).bind(2, upper_bound).bind(3, int64_t{limit});
  while (query.step()) {
    users.push_back(read_user(query, 0));
  }
  return users;
}

// ---- Tokens ----

void SqliteStore::create_token(std::string_view token_hash, int64_t user_id, int64_t now_ms) {
  connection_
      .statement("INSERT INTO tokens (token_hash, user_id, created) VALUES (?1, ?2, ?3)",
                 "create_token")
      .bind(1, token_hash)
      .bind(2, user_id)
      .bind(3, now_ms)
      .run();
}

std::optional<int64_t> SqliteStore::find_token(std::string_view token_hash) {
  Statement query =
      connection_.statement("SELECT user_id FROM tokens WHERE token_hash = ?1", "find_token");
  query.bind(1, token_hash);
  if (!query.step()) {
    return std::nullopt;
  }
  return query.column_int64(0);
}

void SqliteStore::delete_token(std::string_view token_hash) {
  connection_.statement("DELETE FROM tokens WHERE token_hash = ?1", "delete_token")
      .bind(1, token_hash)
      .run();
}

// ---- Friends ----

namespace {

constexpr const char* kFindRequestInState =
    "SELECT id, from_id, to_id, state, created FROM friend_requests "
    "WHERE from_id = ?1 AND to_id = ?2 AND state = ?3 ORDER BY id DESC LIMIT 1";

std::optional<FriendRequest> find_request_in_state(detail::Connection& connection, int64_t from,
                                                   int64_t to, RequestState state,
                                                   const char* operation) {
  Statement query = connection.statement(kFindRequestInState, operation);
  query.bind(1, from).bind(2, to).bind(3, std::string_view(request_state_name(state)));
  if (!query.step()) {
    return std::nullopt;
  }
  return read_request(query);
}

FriendRequest insert_request(detail::Connection& connection, int64_t from, int64_t to,
                             RequestState state, int64_t now_ms, const char* operation) {
  connection
      .statement(
          "INSERT INTO friend_requests (from_id, to_id, state, created) VALUES (?1, ?2, ?3, ?4)",
          operation)
      .bind(1, from)
      .bind(2, to)
      .bind(3, std::string_view(request_state_name(state)))
      .bind(4, now_ms)
      .run();
  return FriendRequest{connection.last_insert_rowid(), from, to, state, now_ms};
}

}  // namespace

FriendRequest SqliteStore::create_friend_request(int64_t from, int64_t to, int64_t now_ms) {
  const char* operation = "create_friend_request";
  // One write transaction, so that two users asking each other at the same moment from two
  // connections end up with one accepted request rather than two pending ones.
  Transaction transaction(connection_, /*immediate=*/true, operation);
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

std::optional<FriendRequest> SqliteStore::find_request(int64_t request_id, const char* operation) {
  Statement query = connection_.statement(
      "SELECT id, from_id, to_id, state, created FROM friend_requests WHERE id = ?1", operation);
  query.bind(1, request_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_request(query);
}

void SqliteStore::set_request_state(int64_t request_id, RequestState state, const char* operation) {
  connection_.statement("UPDATE friend_requests SET state = ?2 WHERE id = ?1", operation)
      .bind(1, request_id)
      .bind(2, std::string_view(request_state_name(state)))
      .run();
}

void SqliteStore::insert_friendship(int64_t a, int64_t b, const char* operation) {
  connection_
      .statement(
          "INSERT INTO friendships (user_id, friend_id) VALUES (?1, ?2), (?2, ?1) "
          "ON CONFLICT (user_id, friend_id) DO NOTHING",
          operation)
      .bind(1, a)
      .bind(2, b)
      .run();
}

std::optional<FriendRequest> SqliteStore::get_friend_request(int64_t request_id) {
  return find_request(request_id, "get_friend_request");
}

std::vector<FriendRequest> SqliteStore::pending_requests(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT id, from_id, to_id, state, created FROM friend_requests "
      "WHERE from_id = ?1 AND state = 'pending' "
      "UNION ALL "
      "SELECT id, from_id, to_id, state, created FROM friend_requests "
      "WHERE to_id = ?1 AND state = 'pending' AND from_id <> ?1 "
      "ORDER BY id",
      "pending_requests");
  query.bind(1, user_id);
  std::vector<FriendRequest> requests;
  while (query.step()) {
    requests.push_back(read_request(query));
  }
  return requests;
}

std::optional<FriendRequest> SqliteStore::answer_friend_request(int64_t request_id, bool accept) {
  const char* operation = "answer_friend_request";
  Transaction transaction(connection_, /*immediate=*/true, operation);
  auto request = find_request(request_id, operation);
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

std::vector<User> SqliteStore::friends(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT u.id, u.username, u.nickname, u.avatar "
      "FROM friendships f JOIN users u ON u.id = f.friend_id "
      "WHERE f.user_id = ?1 ORDER BY u.username",
      "friends");
  query.bind(1, user_id);
  std::vector<User> users;
  while (query.step()) {
    users.push_back(read_user(query, 0));
  }
  return users;
}

std::vector<int64_t> SqliteStore::friend_ids(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT friend_id FROM friendships WHERE user_id = ?1 ORDER BY friend_id", "friend_ids");
  query.bind(1, user_id);
  std::vector<int64_t> ids;
  while (query.step()) {
    ids.push_back(query.column_int64(0));
  }
  return ids;
}

bool SqliteStore::are_friends(int64_t a, int64_t b) {
  Statement query = connection_.statement(
      "SELECT 1 FROM friendships WHERE user_id = ?1 AND friend_id = ?2", "are_friends");
  query.bind(1, a).bind(2, b);
  return query.step();
}

void SqliteStore::remove_friend(int64_t a, int64_t b) {
  connection_
      .statement(
          "DELETE FROM friendships "
          "WHERE (user_id = ?1 AND friend_id = ?2) OR (user_id = ?2 AND friend_id = ?1)",
          "remove_friend")
      .bind(1, a)
      .bind(2, b)
      .run();
}

// ---- Blocks ----

void SqliteStore::block(int64_t blocker, int64_t blocked) {
  connection_
      .statement(
          "INSERT INTO blocks (blocker, blocked) VALUES (?1, ?2) "
          "ON CONFLICT (blocker, blocked) DO NOTHING",
          "block")
      .bind(1, blocker)
      .bind(2, blocked)
      .run();
}

void SqliteStore::unblock(int64_t blocker, int64_t blocked) {
  connection_.statement("DELETE FROM blocks WHERE blocker = ?1 AND blocked = ?2", "unblock")
      .bind(1, blocker)
      .bind(2, blocked)
      .run();
}

bool SqliteStore::is_blocked(int64_t blocker, int64_t blocked) {
  Statement query = connection_.statement(
      "SELECT 1 FROM blocks WHERE blocker = ?1 AND blocked = ?2", "is_blocked");
  query.bind(1, blocker).bind(2, blocked);
  return query.step();
}

// ---- Groups ----

namespace {

constexpr const char* kAddMember =
    "INSERT INTO group_members (group_id, user_id, role, joined) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (group_id, user_id) DO NOTHING";

// Inserts the membership unless it exists. Returns whether a row was inserted.
bool insert_member(detail::Connection& connection, int64_t group_id, int64_t user_id, Role role,
                   int64_t now_ms, const char* operation) {
  connection.statement(kAddMember, operation)
      .bind(1, group_id)
      .bind(2, user_id)
      .bind(3, std::string_view(role_name(role)))
      .bind(4, now_ms)
      .run();
  return connection.changes() == 1;
}

}  // namespace

Group SqliteStore::create_group(std::string_view name, int64_t owner,
                                const std::vector<int64_t>& members, bool open, int64_t now_ms) {
  const char* operation = "create_group";
  Transaction transaction(connection_, /*immediate=*/true, operation);
  connection_
      .statement("INSERT INTO groups (name, owner, open, created) VALUES (?1, ?2, ?3, ?4)",
                 operation)
      .bind(1, name)
      .bind(2, owner)
      .bind(3, int64_t{open ? 1 : 0})
      .bind(4, now_ms)
      .run();
  Group group{connection_.last_insert_rowid(), std::string(name), owner, open, 0, now_ms};

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

std::optional<Group> SqliteStore::get_group(int64_t group_id) {
  Statement query = connection_.statement(
      "SELECT g.id, g.name, g.owner, g.open, "
      "(SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id), g.created "
      "FROM groups g WHERE g.id = ?1",
      "get_group");
  query.bind(1, group_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_group(query);
}

std::vector<Group> SqliteStore::groups_of(int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT g.id, g.name, g.owner, g.open, "
      "(SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id), g.created "
      "FROM group_members m JOIN groups g ON g.id = m.group_id "
      "WHERE m.user_id = ?1 ORDER BY m.group_id",
      "groups_of");
  query.bind(1, user_id);
  std::vector<Group> groups;
  while (query.step()) {
    groups.push_back(read_group(query));
  }
  return groups;
}

std::vector<Member> SqliteStore::group_members(int64_t group_id) {
  Statement query = connection_.statement(
      "SELECT u.id, u.username, u.nickname, u.avatar, m.role "
      "FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ?1 "
      "ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.user_id",
      "group_members");
  query.bind(1, group_id);
  std::vector<Member> members;
  while (query.step()) {
    members.push_back(Member{read_user(query, 0), parse_role(query.column_text(4))});
  }
  return members;
}

std::vector<int64_t> SqliteStore::group_member_ids(int64_t group_id) {
  Statement query = connection_.statement(
      "SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id", "group_member_ids");
  query.bind(1, group_id);
  std::vector<int64_t> ids;
  while (query.step()) {
    ids.push_back(query.column_int64(0));
  }
  return ids;
}

std::optional<Role> SqliteStore::member_role(int64_t group_id, int64_t user_id) {
  Statement query = connection_.statement(
      "SELECT role FROM group_members WHERE group_id = ?1 AND user_id = ?2", "member_role");
  query.bind(1, group_id).bind(2, user_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return parse_role(query.column_text(0));
}

bool SqliteStore::add_member(int64_t group_id, int64_t user_id, Role role) {
  return insert_member(connection_, group_id, user_id, role, detail::system_clock_ms(),
                       "add_member");
}

bool SqliteStore::remove_member(int64_t group_id, int64_t user_id) {
  connection_
      .statement("DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2", "remove_member")
      .bind(1, group_id)
      .bind(2, user_id)
      .run();
  return connection_.changes() == 1;
}

bool SqliteStore::set_member_role(int64_t group_id, int64_t user_id, Role role) {
  connection_
      .statement("UPDATE group_members SET role = ?3 WHERE group_id = ?1 AND user_id = ?2",
                 "set_member_role")
      .bind(1, group_id)
      .bind(2, user_id)
      .bind(3, std::string_view(role_name(role)))
      .run();
  return connection_.changes() == 1;
}

}  // namespace parley::store
