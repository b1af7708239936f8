#include "store/mysql_schema.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace parley::store::mysql {
namespace {

// Schema version 1. Conventions:
// - Every table is InnoDB (transactions, row locks, foreign keys) in utf8mb4.
// - Times are Unix milliseconds in BIGINT columns.
// - Names that are compared or indexed as exact byte strings (username, token hash, message
//   cid) are VARBINARY: comparison is byte by byte, so case-sensitive, and trailing spaces
//   count, as with SQLite's BINARY collation. A utf8mb4 *_bin collation would ignore trailing
//   spaces in MariaDB, where those collations are PAD SPACE.
// - A conversation is (conv_kind, conv_a, conv_b) as in ConvKey: 1 = direct with conv_a <
//   conv_b the two user ids, 2 = group with conv_a = group id and conv_b = 0.
// - Friendships are stored in both directions, (a, b) and (b, a), so that friends(user) is one
//   range scan of the primary key. One statement writes or deletes both rows.
// - `groups` is quoted because GROUPS is a reserved word in MySQL 8.
// Each statement uses IF NOT EXISTS because MySQL commits every CREATE TABLE at once: a
// migration interrupted halfway is completed by the next start.
constexpr std::string_view kSchemaVersion1[] = {
    R"sql(
CREATE TABLE IF NOT EXISTS users (
  id BIGINT NOT NULL AUTO_INCREMENT,
  username VARBINARY(255) NOT NULL,
  password_hash TEXT NOT NULL,
  nickname TEXT NOT NULL,
  avatar TEXT NOT NULL,
  created BIGINT NOT NULL,
  PRIMARY KEY (id),
  -- Login, the uniqueness of names, and search_users, which is a range scan on a prefix.
  UNIQUE KEY users_by_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS tokens (
  token_hash VARBINARY(255) NOT NULL,
  user_id BIGINT NOT NULL,
  created BIGINT NOT NULL,
  PRIMARY KEY (token_hash),
  -- InnoDB needs an index on each foreign key column; it also finds a user's tokens.
  KEY tokens_by_user (user_id),
  FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS friend_requests (
  id BIGINT NOT NULL AUTO_INCREMENT,
  from_id BIGINT NOT NULL,
  to_id BIGINT NOT NULL,
  state ENUM('pending', 'accepted', 'declined') NOT NULL,
  created BIGINT NOT NULL,
  PRIMARY KEY (id),
  -- Requests between two users in one direction, and the outgoing part of pending_requests.
  KEY friend_requests_by_pair (from_id, to_id, state),
  -- The incoming part of pending_requests.
  KEY friend_requests_by_to (to_id, state),
  FOREIGN KEY (from_id) REFERENCES users (id),
  FOREIGN KEY (to_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS friendships (
  user_id BIGINT NOT NULL,
  friend_id BIGINT NOT NULL,
  PRIMARY KEY (user_id, friend_id),
  -- The index InnoDB needs for the foreign key on friend_id.
  KEY friendships_by_friend (friend_id),
  FOREIGN KEY (user_id) REFERENCES users (id),
  FOREIGN KEY (friend_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS blocks (
  blocker BIGINT NOT NULL,
  blocked BIGINT NOT NULL,
  PRIMARY KEY (blocker, blocked),
  -- The index InnoDB needs for the foreign key on blocked.
  KEY blocks_by_blocked (blocked),
  FOREIGN KEY (blocker) REFERENCES users (id),
  FOREIGN KEY (blocked) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS `groups` (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name TEXT NOT NULL,
  owner BIGINT NOT NULL,
  `open` TINYINT NOT NULL CHECK (`open` IN (0, 1)),
  created BIGINT NOT NULL,
  PRIMARY KEY (id),
  -- The index InnoDB needs for the foreign key on owner.
  KEY groups_by_owner (owner),
  FOREIGN KEY (owner) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS group_members (
  group_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  role ENUM('owner', 'admin', 'member') NOT NULL,
  joined BIGINT NOT NULL,
  PRIMARY KEY (group_id, user_id),
  -- groups_of(user), and the group conversations of a user in messages_after_ts and
  -- conversations. Also the index for the foreign key on user_id.
  KEY group_members_by_user (user_id, group_id),
  FOREIGN KEY (group_id) REFERENCES `groups` (id) ON DELETE CASCADE,
  FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS messages (
  id BIGINT NOT NULL AUTO_INCREMENT,
  conv_kind TINYINT NOT NULL CHECK (conv_kind IN (1, 2)),
  conv_a BIGINT NOT NULL,
  conv_b BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  sender BIGINT NOT NULL,
  dst BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  -- NULL for a message without a client id, because the unique key below allows any number
  -- of NULLs: MySQL has no partial index to leave those messages out.
  cid VARBINARY(255) NULL,
  media INT NOT NULL,
  content MEDIUMTEXT NOT NULL,
  url TEXT NOT NULL,
  pic TEXT NOT NULL,
  memo TEXT NOT NULL,
  amount BIGINT NOT NULL,
  recalled TINYINT NOT NULL CHECK (recalled IN (0, 1)),
  PRIMARY KEY (id),
  -- Every lookup by position in a conversation: history paging (seq < S, newest first), sync
  -- by seq (seq > S), the last message of each conversation in the conversation list (one
  -- lookup of its last_seq) and its unread count (seq > read mark).
  UNIQUE KEY messages_by_conv_seq (conv_kind, conv_a, conv_b, seq),
  -- Duplicate detection on insert: the client id is unique per sender. Also the index for the
  -- foreign key on sender.
  UNIQUE KEY messages_by_sender_cid (sender, cid),
  -- Sync by time: messages_after_ts searches ts > T in each conversation of the user.
  KEY messages_by_conv_ts (conv_kind, conv_a, conv_b, ts),
  FOREIGN KEY (sender) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    // One row per conversation that has messages. insert_messages locks the row for the rest
    // of its transaction (INSERT ... ON DUPLICATE KEY UPDATE), so concurrent writers take turns
    // per conversation and last_seq + 1 is the next seq without gaps or repeats. The table
    // also lists a user's direct chats without scanning their messages.
    R"sql(
CREATE TABLE IF NOT EXISTS conversations (
  conv_kind TINYINT NOT NULL CHECK (conv_kind IN (1, 2)),
  conv_a BIGINT NOT NULL,
  conv_b BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  -- The primary key also finds the direct chats in which the user is conv_a.
  PRIMARY KEY (conv_kind, conv_a, conv_b),
  -- The direct chats in which the user is conv_b, for messages_after_ts and conversations.
  KEY conversations_by_b (conv_kind, conv_b, conv_a)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
    R"sql(
CREATE TABLE IF NOT EXISTS read_marks (
  user_id BIGINT NOT NULL,
  conv_kind TINYINT NOT NULL CHECK (conv_kind IN (1, 2)),
  conv_a BIGINT NOT NULL,
  conv_b BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (user_id, conv_kind, conv_a, conv_b),
  FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql",
};

struct Migration {
  const std::string_view* statements;
  size_t count;
};

// Migration i (0-based) brings the schema from version i to version i + 1. Append new
// migrations, and never edit one that has been released, because databases already carry it.
constexpr std::array kMigrations = {
    Migration{kSchemaVersion1, std::size(kSchemaVersion1)},
};

constexpr std::string_view kCreateVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INT NOT NULL,
  applied TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql";

// The lock is server-wide, so its name includes the database. MySQL limits lock names to 64
// characters.
constexpr const char* kTakeLock =
    "SELECT GET_LOCK(CONCAT('parley_schema.', LEFT(DATABASE(), 48)), 60)";
constexpr const char* kReleaseLock =
    "SELECT RELEASE_LOCK(CONCAT('parley_schema.', LEFT(DATABASE(), 48)))";

// Holds the migration lock while it exists.
class MigrationLock {
 public:
  explicit MigrationLock(Connection& connection) : connection_(connection) {
    Statement take = connection_.statement(kTakeLock, "migrate");
    if (!take.step() || take.column_is_null(0) || take.column_int64(0) != 1) {
      throw StoreError("migrate failed: another process held the schema lock of " +
                       connection_.address() + " for 60 s");
    }
  }
  ~MigrationLock() {
    try {
      Statement release = connection_.statement(kReleaseLock, "migrate");
      (void)release.step();
    } catch (const StoreError&) {
      // The server releases the lock when the connection closes.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  Connection& connection_;
};

}  // namespace

void migrate_schema(Connection& connection) {
  const char* operation = "migrate";
  MigrationLock lock(connection);
  connection.execute(kCreateVersionTable, operation);

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
    throw StoreError("migrate failed: the database " + connection.address() +
                     " has schema version " + std::to_string(version) +
                     ", newer than the version " + std::to_string(newest) +
                     " this build supports. Run a newer parleyd on it.");
  }
  for (int64_t next = version + 1; next <= newest; ++next) {
    const Migration& migration = kMigrations[static_cast<size_t>(next - 1)];
    for (size_t i = 0; i < migration.count; ++i) {
      connection.execute(migration.statements[i], operation);
    }
    connection.statement("INSERT INTO schema_version (version) VALUES (?)", operation)
        .bind(next)
        .run();
  }
}

}  // namespace parley::store::mysql
