// SqliteStore: messages, read marks and the conversation list.

#include <algorithm>
#include <limits>
#include <string>

#include "store/rows.h"
#include "store/sqlite_store.h"

namespace parley::store {
namespace {

using detail::Statement;
using detail::Transaction;

// The columns read_message expects, in its order. A macro, because SQL text must be a constant
// and adjacent string literals are the simplest way to compose one.
#define PARLEY_MESSAGE_COLUMNS                                                             \
  " m.id, m.conv_kind, m.conv_a, m.conv_b, m.seq, m.sender, m.dst, m.ts, m.cid, m.media, " \
  "m.content, m.url, m.pic, m.memo, m.amount, m.recalled "

// The conversations of user ?1 as rows (kind, a, b): direct chats with at least one message,
// and the groups the user is a member of now (with or without messages).
//
// Direct chats are found with a loose index scan. Each step of a recursive CTE selects the
// smallest peer above the previous one, which SQLite finds with one seek into an index
// (messages_by_conv_ts for chats where the user is conv_a, messages_by_conv_b where the user is
// conv_b). Listing the chats so costs one seek per chat instead of reading every message of the
// user, as SELECT DISTINCT would. A chat with oneself (a == b) is found by both scans and kept
// once.
#define PARLEY_USER_CONVERSATIONS_CTE                                              \
  "WITH RECURSIVE "                                                                \
  "peers_above(peer) AS ("                                                         \
  " SELECT (SELECT MIN(conv_b) FROM messages WHERE conv_kind = 1 AND conv_a = ?1)" \
  " UNION ALL"                                                                     \
  " SELECT (SELECT MIN(conv_b) FROM messages"                                      \
  "         WHERE conv_kind = 1 AND conv_a = ?1 AND conv_b > peer)"                \
  " FROM peers_above WHERE peer IS NOT NULL), "                                    \
  "peers_below(peer) AS ("                                                         \
  " SELECT (SELECT MIN(conv_a) FROM messages WHERE conv_kind = 1 AND conv_b = ?1)" \
  " UNION ALL"                                                                     \
  " SELECT (SELECT MIN(conv_a) FROM messages"                                      \
  "         WHERE conv_kind = 1 AND conv_b = ?1 AND conv_a > peer)"                \
  " FROM peers_below WHERE peer IS NOT NULL), "                                    \
  "convs(kind, a, b) AS ("                                                         \
  " SELECT 1, ?1, peer FROM peers_above WHERE peer IS NOT NULL"                    \
  " UNION ALL"                                                                     \
  " SELECT 1, peer, ?1 FROM peers_below WHERE peer IS NOT NULL AND peer <> ?1"     \
  " UNION ALL"                                                                     \
  " SELECT 2, group_id, 0 FROM group_members WHERE user_id = ?1) "

using rows::read_message;

Statement& bind_conv(Statement& statement, const ConvKey& conv) {
  return statement.bind(1, static_cast<int64_t>(conv.kind)).bind(2, conv.a).bind(3, conv.b);
}

std::vector<Message> read_messages(Statement& query) {
  std::vector<Message> messages;
  while (query.step()) {
    messages.push_back(read_message(query));
  }
  return messages;
}

}  // namespace

std::vector<InsertResult> SqliteStore::insert_messages(const std::vector<Message>& batch) {
  std::vector<InsertResult> results;
  if (batch.empty()) {
    return results;
  }
  results.reserve(batch.size());
  // BEGIN IMMEDIATE takes the database's write lock before the first MAX(seq), and no other
  // connection, in this process or another, can write until COMMIT. So the seqs cannot collide.
  Transaction transaction(connection_, /*immediate=*/true, "insert_messages");
  for (const Message& message : batch) {
    results.push_back(insert_one(message));
  }
  transaction.commit();
  return results;
}

InsertResult SqliteStore::insert_one(const Message& message) {
  const char* operation = "insert_messages";
  if (!message.cid.empty()) {
    // The cid <> '' term lets SQLite use the partial index messages_by_sender_cid. This lookup
    // also finds the rows inserted earlier in the same batch, because they belong to the same
    // transaction.
    Statement duplicate =
        connection_.statement("SELECT" PARLEY_MESSAGE_COLUMNS
                              "FROM messages m WHERE m.sender = ?1 AND m.cid = ?2 AND m.cid <> ''",
                              operation);
    duplicate.bind(1, message.sender).bind(2, message.cid);
    if (duplicate.step()) {
      return InsertResult{read_message(duplicate), true};
    }
  }

  InsertResult result{message, false};
  Message& stored = result.message;
  {
    Statement next_seq = connection_.statement(
        "SELECT IFNULL(MAX(seq), 0) + 1 FROM messages "
        "WHERE conv_kind = ?1 AND conv_a = ?2 AND conv_b = ?3",
        operation);
    bind_conv(next_seq, message.conv);
    stored.seq = next_seq.step() ? next_seq.column_int64(0) : 1;
  }
  if (stored.ts == 0) {
    stored.ts = detail::system_clock_ms();
  }

  Statement insert = connection_.statement(
      "INSERT INTO messages (conv_kind, conv_a, conv_b, seq, sender, dst, ts, cid, media, "
      "content, url, pic, memo, amount, recalled) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
      operation);
  bind_conv(insert, stored.conv)
      .bind(4, stored.seq)
      .bind(5, stored.sender)
      .bind(6, stored.dst)
      .bind(7, stored.ts)
      .bind(8, stored.cid)
      .bind(9, int64_t{stored.media})
      .bind(10, stored.content)
      .bind(11, stored.url)
      .bind(12, stored.pic)
      .bind(13, stored.memo)
      .bind(14, stored.amount)
      .bind(15, int64_t{stored.recalled ? 1 : 0})
      .run();
  stored.id = connection_.last_insert_rowid();
  return result;
}

std::vector<Message> SqliteStore::messages_before(const ConvKey& conv, int64_t before_seq,
                                                  int limit) {
  if (limit <= 0) {
    return {};
  }
  // A bound instead of an optional condition keeps seq < ?4 a range on the index, so a deep
  // page costs one seek instead of a scan from the newest message.
  const int64_t bound = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS
      "FROM messages m WHERE m.conv_kind = ?1 AND m.conv_a = ?2 AND m.conv_b = ?3 "
      "AND m.seq < ?4 ORDER BY m.seq DESC LIMIT ?5",
      "messages_before");
  bind_conv(query, conv).bind(4, bound).bind(5, int64_t{limit});
  std::vector<Message> messages = read_messages(query);
  std::reverse(messages.begin(), messages.end());
  return messages;
}

std::vector<Message> SqliteStore::messages_after(const ConvKey& conv, int64_t after_seq,
                                                 int limit) {
  if (limit <= 0) {
    return {};
  }
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS
      "FROM messages m WHERE m.conv_kind = ?1 AND m.conv_a = ?2 AND m.conv_b = ?3 "
      "AND m.seq > ?4 ORDER BY m.seq LIMIT ?5",
      "messages_after");
  bind_conv(query, conv).bind(4, after_seq).bind(5, int64_t{limit});
  return read_messages(query);
}

std::vector<Message> SqliteStore::messages_after_ts(int64_t user_id, int64_t after_ts, int limit) {
  if (limit <= 0) {
    return {};
  }
  // Query plan (EXPLAIN QUERY PLAN, SQLite 3.40): the CTE lists the user's conversations with
  // index seeks, then each conversation is one range search on messages_by_conv_ts
  // (conv_kind=? AND conv_a=? AND conv_b=? AND ts>?). Only the rows found there are sorted by
  // (ts, id), in a temporary B-tree.
  Statement query = connection_.statement(
      PARLEY_USER_CONVERSATIONS_CTE
      "SELECT" PARLEY_MESSAGE_COLUMNS
      "FROM convs c JOIN messages m "
      "ON m.conv_kind = c.kind AND m.conv_a = c.a AND m.conv_b = c.b AND m.ts > ?2 "
      "ORDER BY m.ts, m.id LIMIT ?3",
      "messages_after_ts");
  query.bind(1, user_id).bind(2, after_ts).bind(3, int64_t{limit});
  return read_messages(query);
}

std::optional<Message> SqliteStore::get_message(int64_t message_id) {
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS "FROM messages m WHERE m.id = ?1", "get_message");
  query.bind(1, message_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_message(query);
}

std::optional<Message> SqliteStore::recall_message(int64_t message_id) {
  connection_
      .statement(
          "UPDATE messages SET content = '', url = '', pic = '', memo = '', amount = 0, "
          "recalled = 1 WHERE id = ?1",
          "recall_message")
      .bind(1, message_id)
      .run();
  if (connection_.changes() == 0) {
    return std::nullopt;
  }
  return get_message(message_id);
}

void SqliteStore::set_read_mark(int64_t user_id, const ConvKey& conv, int64_t seq) {
  // The WHERE of the upsert keeps the mark from moving backwards, for example when a client
  // reports an old read after a newer one.
  Statement statement = connection_.statement(
      "INSERT INTO read_marks (conv_kind, conv_a, conv_b, user_id, seq) "
      "VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (user_id, conv_kind, conv_a, conv_b) DO UPDATE SET seq = excluded.seq "
      "WHERE excluded.seq > read_marks.seq",
      "set_read_mark");
  bind_conv(statement, conv).bind(4, user_id).bind(5, seq).run();
}

std::vector<ConversationSummary> SqliteStore::conversations(int64_t user_id) {
  // Per conversation: the last message is one seek to MAX(seq) on the (conv_kind, conv_a,
  // conv_b, seq) index, the read mark one primary-key lookup, and the unread count a range
  // search seq > mark on the same index. The unread count reads the table row of each unread
  // message to check its sender, so it costs time in proportion to the unread messages.
  Statement query = connection_.statement(
      PARLEY_USER_CONVERSATIONS_CTE
      "SELECT" PARLEY_MESSAGE_COLUMNS
      ", (SELECT COUNT(*) FROM messages u"
      "   WHERE u.conv_kind = c.kind AND u.conv_a = c.a AND u.conv_b = c.b"
      "   AND u.sender <> ?1"
      "   AND u.seq > IFNULL((SELECT r.seq FROM read_marks r"
      "                       WHERE r.user_id = ?1 AND r.conv_kind = c.kind"
      "                       AND r.conv_a = c.a AND r.conv_b = c.b), 0)) "
      "FROM convs c JOIN messages m "
      "ON m.conv_kind = c.kind AND m.conv_a = c.a AND m.conv_b = c.b "
      "AND m.seq = (SELECT MAX(x.seq) FROM messages x"
      "             WHERE x.conv_kind = c.kind AND x.conv_a = c.a AND x.conv_b = c.b) "
      "ORDER BY m.ts DESC, m.id DESC",
      "conversations");
  query.bind(1, user_id);
  std::vector<ConversationSummary> summaries;
  while (query.step()) {
    Message last = read_message(query);
    const ConvKey conv = last.conv;
    summaries.push_back(ConversationSummary{conv, std::move(last), query.column_int64(16)});
  }
  return summaries;
}

#undef PARLEY_MESSAGE_COLUMNS
#undef PARLEY_USER_CONVERSATIONS_CTE

}  // namespace parley::store
