// MysqlStore: messages, read marks and the conversation list.

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <tuple>

#include "store/mysql_store.h"
#include "store/rows.h"

namespace parley::store {
namespace {

using mysql::Statement;
using mysql::Transaction;

// The columns rows::read_message expects, in its order. A macro, because SQL text must be a
// constant and adjacent string literals are the simplest way to compose one.
#define PARLEY_MESSAGE_COLUMNS                                                             \
  " m.id, m.conv_kind, m.conv_a, m.conv_b, m.seq, m.sender, m.dst, m.ts, m.cid, m.media, " \
  "m.content, m.url, m.pic, m.memo, m.amount, m.recalled "

// The conversations of a user that have messages, as a derived table c (conv_kind, conv_a,
// conv_b, last_seq): direct chats in which the user is conv_a (a range of the primary key of
// conversations), direct chats in which the user is conv_b (conversations_by_b) and the groups
// the user is a member of now (group_members_by_user, then a primary-key lookup). A chat with
// oneself is found by the first part only. Binds the user id to four parameters.
#define PARLEY_USER_CONVERSATIONS                                                        \
  "(SELECT conv_kind, conv_a, conv_b, last_seq FROM conversations"                       \
  "  WHERE conv_kind = 1 AND conv_a = ?"                                                 \
  " UNION ALL"                                                                           \
  " SELECT conv_kind, conv_a, conv_b, last_seq FROM conversations"                       \
  "  WHERE conv_kind = 1 AND conv_b = ? AND conv_a <> ?"                                 \
  " UNION ALL"                                                                           \
  " SELECT k.conv_kind, k.conv_a, k.conv_b, k.last_seq FROM group_members g"             \
  "  JOIN conversations k ON k.conv_kind = 2 AND k.conv_a = g.group_id AND k.conv_b = 0" \
  "  WHERE g.user_id = ?) c "

constexpr int kUserConversationParameters = 4;

Statement& bind_conv(Statement& statement, const ConvKey& conv) {
  return statement.bind(static_cast<int64_t>(conv.kind)).bind(conv.a).bind(conv.b);
}

Statement& bind_user_conversations(Statement& statement, int64_t user_id) {
  for (int i = 0; i < kUserConversationParameters; ++i) {
    statement.bind(user_id);
  }
  return statement;
}

std::vector<Message> read_messages(Statement& query) {
  std::vector<Message> messages;
  while (query.step()) {
    messages.push_back(rows::read_message(query));
  }
  return messages;
}

// A conversation as a sortable key. Counter rows are locked in this order.
using ConvTuple = std::tuple<int, int64_t, int64_t>;

ConvTuple conv_tuple(const ConvKey& conv) {
  return {static_cast<int>(conv.kind), conv.a, conv.b};
}

ConvKey conv_key(const ConvTuple& tuple) {
  return ConvKey{static_cast<ConvKey::Kind>(std::get<0>(tuple)), std::get<1>(tuple),
                 std::get<2>(tuple)};
}

}  // namespace

std::optional<Message> MysqlStore::find_by_cid(int64_t sender, const std::string& cid) {
  // The unique key messages_by_sender_cid finds the row. The lookup also sees the rows inserted
  // earlier in the same batch, because they belong to the same transaction.
  // NOTE: when two connections insert the same (sender, cid) at once, the second one's INSERT
  // fails with a duplicate-key StoreError instead of returning the first message as a
  // duplicate. parleyd inserts on one writer thread, so only a second process can race.
  Statement query = connection_.statement("SELECT" PARLEY_MESSAGE_COLUMNS
                                          "FROM messages m WHERE m.sender = ? AND m.cid = ?",
                                          "insert_messages");
  query.bind(sender).bind(cid);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_message(query);
}

std::vector<InsertResult> MysqlStore::insert_messages(const std::vector<Message>& batch) {
  std::vector<InsertResult> results;
  if (batch.empty()) {
    return results;
  }
  results.reserve(batch.size());
  const char* operation = "insert_messages";
  Transaction transaction(connection_, operation);

  // Lock the counter row of every conversation in the batch, creating it at 0 if missing, and
  // read its last seq. The upsert takes an exclusive lock that lasts until COMMIT, so another
  // connection inserting into the same conversation waits here, and locking in key order keeps
  // two batches from deadlocking on each other.
  std::map<ConvTuple, int64_t> last_seq;
  for (const Message& message : batch) {
    last_seq.emplace(conv_tuple(message.conv), 0);
  }
  for (auto& [tuple, seq] : last_seq) {
    const ConvKey conv = conv_key(tuple);
    Statement lock = connection_.statement(
        "INSERT INTO conversations (conv_kind, conv_a, conv_b, last_seq) VALUES (?, ?, ?, 0) "
        "ON DUPLICATE KEY UPDATE last_seq = last_seq",
        operation);
    bind_conv(lock, conv).run();
    Statement read = connection_.statement(
        "SELECT last_seq FROM conversations WHERE conv_kind = ? AND conv_a = ? AND conv_b = ?",
        operation);
    bind_conv(read, conv);
    seq = read.step() ? read.column_int64(0) : 0;
  }
  const std::map<ConvTuple, int64_t> first_seq = last_seq;

  for (const Message& message : batch) {
    if (!message.cid.empty()) {
      if (auto original = find_by_cid(message.sender, message.cid)) {
        results.push_back(InsertResult{std::move(*original), true});
        continue;
      }
    }
    InsertResult result{message, false};
    Message& stored = result.message;
    stored.seq = ++last_seq[conv_tuple(stored.conv)];
    if (stored.ts == 0) {
      stored.ts = system_clock_ms();
    }
    // An empty cid is stored as NULL, which the unique key on (sender, cid) does not compare.
    Statement insert = connection_.statement(
        "INSERT INTO messages (conv_kind, conv_a, conv_b, seq, sender, dst, ts, cid, media, "
        "content, url, pic, memo, amount, recalled) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?)",
        operation);
    bind_conv(insert, stored.conv)
        .bind(stored.seq)
        .bind(stored.sender)
        .bind(stored.dst)
        .bind(stored.ts)
        .bind(stored.cid)
        .bind(int64_t{stored.media})
        .bind(stored.content)
        .bind(stored.url)
        .bind(stored.pic)
        .bind(stored.memo)
        .bind(stored.amount)
        .bind(int64_t{stored.recalled ? 1 : 0})
        .run();
    stored.id = insert.insert_id();
    results.push_back(std::move(result));
  }

  for (const auto& [tuple, seq] : last_seq) {
    if (seq == first_seq.at(tuple)) {
      continue;
    }
    Statement update = connection_.statement(
        "UPDATE conversations SET last_seq = ? WHERE conv_kind = ? AND conv_a = ? AND conv_b = ?",
        operation);
    update.bind(seq);
    bind_conv(update, conv_key(tuple)).run();
  }
  transaction.commit();
  return results;
}

std::vector<Message> MysqlStore::messages_before(const ConvKey& conv, int64_t before_seq,
                                                 int limit) {
  if (limit <= 0) {
    return {};
  }
  // A bound instead of an optional condition keeps seq < ? a range on the index, so a deep
  // page costs one seek instead of a scan from the newest message.
  const int64_t bound = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS
      "FROM messages m WHERE m.conv_kind = ? AND m.conv_a = ? AND m.conv_b = ? "
      "AND m.seq < ? ORDER BY m.seq DESC LIMIT ?",
      "messages_before");
  bind_conv(query, conv).bind(bound).bind(int64_t{limit});
  std::vector<Message> messages = read_messages(query);
  std::reverse(messages.begin(), messages.end());
  return messages;
}

std::vector<Message> MysqlStore::messages_after(const ConvKey& conv, int64_t after_seq, int limit) {
  if (limit <= 0) {
    return {};
  }
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS
      "FROM messages m WHERE m.conv_kind = ? AND m.conv_a = ? AND m.conv_b = ? "
      "AND m.seq > ? ORDER BY m.seq LIMIT ?",
      "messages_after");
  bind_conv(query, conv).bind(after_seq).bind(int64_t{limit});
  return read_messages(query);
}

std::vector<Message> MysqlStore::messages_after_ts(int64_t user_id, int64_t after_ts, int limit) {
  if (limit <= 0) {
    return {};
  }
  // Each conversation of the user is one range search on messages_by_conv_ts (conv_kind,
  // conv_a, conv_b, ts > T). Only the rows found there are sorted by (ts, id).
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS "FROM " PARLEY_USER_CONVERSATIONS
      "JOIN messages m "
      "ON m.conv_kind = c.conv_kind AND m.conv_a = c.conv_a AND m.conv_b = c.conv_b "
      "AND m.ts > ? ORDER BY m.ts, m.id LIMIT ?",
      "messages_after_ts");
  bind_user_conversations(query, user_id).bind(after_ts).bind(int64_t{limit});
  return read_messages(query);
}

std::optional<Message> MysqlStore::get_message(int64_t message_id) {
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS "FROM messages m WHERE m.id = ?", "get_message");
  query.bind(message_id);
  if (!query.step()) {
    return std::nullopt;
  }
  return rows::read_message(query);
}

std::optional<Message> MysqlStore::recall_message(int64_t message_id) {
  connection_
      .statement(
          "UPDATE messages SET content = '', url = '', pic = '', memo = '', amount = 0, "
          "recalled = 1 WHERE id = ?",
          "recall_message")
      .bind(message_id)
      .run();
  // The affected-row count cannot tell a missing message from one recalled before, because a
  // row updated to its current values does not count. The lookup can.
  return get_message(message_id);
}

void MysqlStore::set_read_mark(int64_t user_id, const ConvKey& conv, int64_t seq) {
  // GREATEST keeps the mark from moving backwards, for example when a client reports an old
  // read after a newer one.
  Statement statement = connection_.statement(
      "INSERT INTO read_marks (conv_kind, conv_a, conv_b, user_id, seq) VALUES (?, ?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE seq = GREATEST(seq, ?)",
      "set_read_mark");
  bind_conv(statement, conv).bind(user_id).bind(seq).bind(seq).run();
}

std::vector<ConversationSummary> MysqlStore::conversations(int64_t user_id) {
  // Per conversation: the last message is one lookup of (conv, last_seq) on
  // messages_by_conv_seq, the read mark one primary-key lookup, and the unread count a range
  // search seq > mark on the same index. The unread count reads the row of each unread message
  // to check its sender, so it costs time in proportion to the unread messages.
  Statement query = connection_.statement(
      "SELECT" PARLEY_MESSAGE_COLUMNS
      ", (SELECT COUNT(*) FROM messages u"
      "   WHERE u.conv_kind = c.conv_kind AND u.conv_a = c.conv_a AND u.conv_b = c.conv_b"
      "   AND u.sender <> ?"
      "   AND u.seq > IFNULL((SELECT r.seq FROM read_marks r"
      "                       WHERE r.user_id = ? AND r.conv_kind = c.conv_kind"
      "                       AND r.conv_a = c.conv_a AND r.conv_b = c.conv_b), 0)) "
      "FROM " PARLEY_USER_CONVERSATIONS
      "JOIN messages m "
      "ON m.conv_kind = c.conv_kind AND m.conv_a = c.conv_a AND m.conv_b = c.conv_b "
      "AND m.seq = c.last_seq "
      "ORDER BY m.ts DESC, m.id DESC",
      "conversations");
  query.bind(user_id).bind(user_id);
  bind_user_conversations(query, user_id);
  std::vector<ConversationSummary> summaries;
  while (query.step()) {
    Message last = rows::read_message(query);
    const ConvKey conv = last.conv;
    summaries.push_back(ConversationSummary{conv, std::move(last), query.column_int64(16)});
  }
  return summaries;
}

#undef PARLEY_MESSAGE_COLUMNS
#undef PARLEY_USER_CONVERSATIONS

}  // namespace parley::store
