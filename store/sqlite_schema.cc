#include "store/sqlite_schema.h"

#include <array>
#include <cstdint>
#include <string>

#include "store/store.h"

namespace parley::store::detail {
namespace {

// Schema version 1. Conventions:
// - Times are Unix milliseconds in INTEGER columns.
// - Enumerations are TEXT with a CHECK (role, request state) so that the file reads well in the
//   sqlite3 shell. The exception is messages.conv_kind: 1 = direct, 2 = group, the values of
//   ConvKey::Kind, because it is part of the hottest indexes.
// - A conversation is (conv_kind, conv_a, conv_b) as in ConvKey: a direct chat is stored once,
//   with conv_a < conv_b the two user ids, and a group chat has conv_a = group id, conv_b = 0.
// - Friendships are stored in both directions, (a, b) and (b, a), so that friends(user) is one
//   range scan of the primary key. One statement writes or deletes both rows, so a reader never
//   sees only one of them.
constexpr const char* kSchemaVersion1 = R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,  -- BINARY collation: case-sensitive, as search_users promises
  password_hash TEXT NOT NULL,
  nickname TEXT NOT NULL,
  avatar TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL
);

CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE friend_requests (
  id INTEGER PRIMARY KEY,
  from_id INTEGER NOT NULL REFERENCES users(id),
  to_id INTEGER NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined')),
  created INTEGER NOT NULL
);
-- Requests between two users in one direction, and the outgoing part of pending_requests.
CREATE INDEX friend_requests_by_pair ON friend_requests(from_id, to_id, state);
-- The incoming part of pending_requests.
CREATE INDEX friend_requests_by_to ON friend_requests(to_id, state);

CREATE TABLE friendships (
  user_id INTEGER NOT NULL REFERENCES users(id),
  friend_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (user_id, friend_id)
) WITHOUT ROWID;

CREATE TABLE blocks (
  blocker INTEGER NOT NULL REFERENCES users(id),
  blocked INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;

CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  owner INTEGER NOT NULL REFERENCES users(id),
  open INTEGER NOT NULL CHECK (open IN (0, 1)),
  created INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
-- groups_of(user), and the group conversations of a user in messages_after_ts and
-- conversations.
CREATE INDEX group_members_by_user ON group_members(user_id, group_id);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  conv_kind INTEGER NOT NULL CHECK (conv_kind IN (1, 2)),
  conv_a INTEGER NOT NULL,
  conv_b INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  sender INTEGER NOT NULL REFERENCES users(id),
  dst INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  cid TEXT NOT NULL DEFAULT '',
  media INTEGER NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  url TEXT NOT NULL DEFAULT '',
  pic TEXT NOT NULL DEFAULT '',
  memo TEXT NOT NULL DEFAULT '',
  amount INTEGER NOT NULL DEFAULT 0,
  recalled INTEGER NOT NULL DEFAULT 0 CHECK (recalled IN (0, 1)),
  -- The index behind this constraint serves every lookup by position in a conversation: the
  -- next seq on insert (MAX(seq) is one seek to the end of the range), history paging
  -- (seq < S, newest first), sync by seq (seq > S), and the last message and the unread count
  -- of each conversation in the conversation list.
  UNIQUE (conv_kind, conv_a, conv_b, seq)
);
-- Duplicate detection on insert: the sender's client id is unique per sender. Messages without
-- a client id are left out, because they cannot be recognised as repeats.
CREATE UNIQUE INDEX messages_by_sender_cid ON messages(sender, cid) WHERE cid <> '';
-- Sync by time: messages_after_ts scans ts > T in each conversation of the user. It also serves
-- the search for the direct chats in which the user is conv_a, as the constraint index above
-- does through the same (conv_kind, conv_a, conv_b) prefix.
CREATE INDEX messages_by_conv_ts ON messages(conv_kind, conv_a, conv_b, ts);
-- The direct chats in which the user is conv_b, for messages_after_ts and conversations.
CREATE INDEX messages_by_conv_b ON messages(conv_kind, conv_b, conv_a);

CREATE TABLE read_marks (
  user_id INTEGER NOT NULL REFERENCES users(id),
  conv_kind INTEGER NOT NULL CHECK (conv_kind IN (1, 2)),
  conv_a INTEGER NOT NULL,
  conv_b INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (user_id, conv_kind, conv_a, conv_b)
) WITHOUT ROWID;
)sql";

// Migration i (0-based) brings the schema from version i to version i + 1. Append new
// migrations, and never edit one that has been released, because databases already carry it.
constexpr std::array kMigrations = {kSchemaVersion1};

constexpr const char* kCreateVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  applied TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP  -- UTC, 'YYYY-MM-DD HH:MM:SS'
);
)sql";

}  // namespace

void migrate_schema(Connection& connection) {
  const char* operation = "migrate";
  Transaction transaction(connection, /*immediate=*/true, operation);
  connection.execute_script(kCreateVersionTable, operation);

  int64_t version = 0;
  {
    Statement query =
        connection.statement("SELECT IFNULL(MAX(version), 0) FROM schema_version", operation);
    if (query.step()) {
      version = query.column_int64(0);
    }
  }
  const auto newest = static_cast<int64_t>(kMigrations.size());
  if (version > newest) {
    throw StoreError("migrate failed: the database " + connection.path() + " has schema version " +
                     std::to_string(version) + ", newer than the version " +
                     std::to_string(newest) + " this build supports. Run a newer parleyd on it.");
  }
  for (int64_t next = version + 1; next <= newest; ++next) {
    connection.execute_script(kMigrations[static_cast<size_t>(next - 1)], operation);
    connection.statement("INSERT INTO schema_version (version) VALUES (?1)", operation)
        .bind(1, next)
        .run();
  }
  transaction.commit();
}

}  // namespace parley::store::detail
