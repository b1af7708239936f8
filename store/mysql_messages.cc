// MysqlStore: messages, read marks and the conversation list.

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/mysql_chunked_sql.h"
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

// Reads a conversation from columns 0 to 2 (conv_kind, conv_a, conv_b).
ConvTuple read_conv_tuple(const Statement& row) {
  return {static_cast<int>(row.column_int64(0)), row.column_int64(1), row.column_int64(2)};
}

constexpr const char* kInsertOperation = "insert_messages";

// A conversation of the batch being inserted. last_seq is its counter as read under the lock,
// before the batch. `inserted` lists the batch indexes of the messages the batch stores in it,
// in seq order, so the k-th of them (from 0) gets seq last_seq + 1 + k.
struct Counter {
  int64_t last_seq = 0;
  std::vector<size_t> inserted;
};
using Counters = std::map<ConvTuple, Counter>;

// The identity of a message for duplicate detection. std::string compares cids byte by byte, as
// the VARBINARY column of the unique key messages_by_sender_cid does.
using CidKey = std::pair<int64_t, std::string>;

// The maximum estimated parameter bytes of one multi-row INSERT. The whole statement travels in
// one packet, which must fit max_allowed_packet: 16 MiB by default in MariaDB 10.11, 64 MiB in
// MySQL 8.0. A message larger than this goes into a statement of its own, which only
// max_allowed_packet limits.
constexpr size_t kMaxInsertBytes = size_t{1} << 20;
// Bytes counted per row for its integer parameters and their headers.
constexpr size_t kRowOverheadBytes = 160;

// Returns the counter of a conversation that the server returned a row of. Works on a const
// and a mutable map alike.
template <typename CounterMap>
auto& counter_of(CounterMap& counters, const ConvTuple& tuple) {
  auto found = counters.find(tuple);
  if (found == counters.end()) {
    throw StoreError(std::string(kInsertOperation) +
                     " failed: the server returned a row of a conversation not in the batch");
  }
  return found->second;
}

// Runs `sql` over `count` rows, a chunk per statement. bind_row(statement, i) binds the
// parameters of row i, and consume(statement) executes the statement and reads its result.
// With `padded`, a chunk repeats its last row to reach the next prepared size, which saves
// round trips but is only correct for a statement that a repeated row does not change.
template <typename BindRow, typename Consume>
void run_in_chunks(mysql::Connection& connection, const mysql::ChunkedSql& sql, size_t count,
                   bool padded, BindRow bind_row, Consume consume) {
  for (size_t first = 0; first < count;) {
    const size_t remaining = count - first;
    const size_t rows =
        padded ? mysql::padded_chunk_rows(remaining) : mysql::exact_chunk_rows(remaining);
    Statement statement = connection.statement(sql.text(rows), kInsertOperation);
    for (size_t i = 0; i < rows; ++i) {
      bind_row(statement, first + std::min(i, remaining - 1));
    }
    consume(statement);
    first += std::min(rows, remaining);
  }
}

// Locks the counter row of every conversation in `counters`, creating it at 0 if missing, and
// reads its last seq. The upsert takes an exclusive lock that lasts until COMMIT, so another
// connection inserting into the same conversation waits here. The MySQL manual describes a
// multi-row INSERT ... ON DUPLICATE KEY UPDATE as the single-row statements one after another,
// so the rows are locked in the order of the VALUES list. The map lists conversations in key
// order, so two batches cannot deadlock on the counter rows (the contract case "store
// writers lock conversations in order" fails when batches lock in opposite orders).
void lock_counters(mysql::Connection& connection, Counters& counters) {
  std::vector<ConvTuple> keys;
  keys.reserve(counters.size());
  for (const auto& [tuple, counter] : counters) {
    keys.push_back(tuple);
  }
  auto bind_key = [&keys](Statement& statement, size_t i) {
    bind_conv(statement, conv_key(keys[i]));
  };

  static const mysql::ChunkedSql kLock(
      "INSERT INTO conversations (conv_kind, conv_a, conv_b, last_seq) VALUES ", "(?, ?, ?, 0)",
      ", ", " ON DUPLICATE KEY UPDATE last_seq = last_seq");
  run_in_chunks(connection, kLock, keys.size(), /*padded=*/false, bind_key,
                [](Statement& statement) { statement.run(); });

  static const mysql::ChunkedSql kRead(
      "SELECT conv_kind, conv_a, conv_b, last_seq FROM conversations "
      "WHERE (conv_kind, conv_a, conv_b) IN (",
      "(?, ?, ?)", ", ", ")");
  run_in_chunks(connection, kRead, keys.size(), /*padded=*/true, bind_key,
                [&counters](Statement& read) {
                  while (read.step()) {
                    counter_of(counters, read_conv_tuple(read)).last_seq = read.column_int64(3);
                  }
                });
}

// Returns the stored messages among `keys`, by (sender, cid). The lookup runs after the batch
// has locked its counters and before it inserts anything.
// NOTE: two connections that insert the same (sender, cid) into different conversations at
// once do not wait for each other, and the second one's INSERT fails with a duplicate-key
// StoreError instead of returning the first message as a duplicate. parleyd inserts on one
// writer thread, so only a second process can race.
std::map<CidKey, Message> find_stored_cids(mysql::Connection& connection,
                                           const std::vector<CidKey>& keys) {
  static const mysql::ChunkedSql kFind("SELECT" PARLEY_MESSAGE_COLUMNS
                                       "FROM messages m WHERE (m.sender, m.cid) IN (",
                                       "(?, ?)", ", ", ")");
  std::map<CidKey, Message> stored;
  run_in_chunks(
      connection, kFind, keys.size(), /*padded=*/true,
      [&keys](Statement& statement, size_t i) {
        statement.bind(keys[i].first).bind(keys[i].second);
      },
      [&stored](Statement& find) {
        while (find.step()) {
          Message message = rows::read_message(find);
          CidKey key{message.sender, message.cid};
          stored.emplace(std::move(key), std::move(message));
        }
      });
  return stored;
}

size_t estimated_parameter_bytes(const Message& message) {
  return kRowOverheadBytes + message.cid.size() + message.content.size() + message.url.size() +
         message.pic.size() + message.memo.size();
}

// Inserts `rows` in their order with multi-row INSERTs, so their ids increase in that order.
// Sets the id of a row that a statement inserted alone, because insert_id() is exact for it
// whatever the auto-increment settings. read_inserted_ids finds the others.
void insert_rows(mysql::Connection& connection, const std::vector<Message*>& rows) {
  // An empty cid is stored as NULL, which the unique key on (sender, cid) does not compare.
  static const mysql::ChunkedSql kInsert(
      "INSERT INTO messages (conv_kind, conv_a, conv_b, seq, sender, dst, ts, cid, media, "
      "content, url, pic, memo, amount, recalled) VALUES ",
      "(?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?)", ", ", "");
  auto bind_row = [](Statement& insert, const Message& row) {
    bind_conv(insert, row.conv)
        .bind(row.seq)
        .bind(row.sender)
        .bind(row.dst)
        .bind(row.ts)
        .bind(row.cid)
        .bind(int64_t{row.media})
        .bind(row.content)
        .bind(row.url)
        .bind(row.pic)
        .bind(row.memo)
        .bind(row.amount)
        .bind(int64_t{row.recalled ? 1 : 0});
  };
  // Splits the rows into runs of at most kMaxInsertBytes (or one larger row), then each run
  // into chunks.
  for (size_t first = 0; first < rows.size();) {
    size_t end = first + 1;
    size_t bytes = estimated_parameter_bytes(*rows[first]);
    while (end < rows.size() && bytes + estimated_parameter_bytes(*rows[end]) <= kMaxInsertBytes) {
      bytes += estimated_parameter_bytes(*rows[end]);
      ++end;
    }
    std::vector<Message*> chunk;
    run_in_chunks(
        connection, kInsert, end - first, /*padded=*/false,
        [&](Statement& insert, size_t i) {
          chunk.push_back(rows[first + i]);
          bind_row(insert, *rows[first + i]);
        },
        [&chunk](Statement& insert) {
          insert.run();
          if (chunk.size() == 1) {
            chunk[0]->id = insert.insert_id();
          }
          chunk.clear();
        });
    first = end;
  }
}

// Reads the ids that insert_rows did not set into `results`, by conversation and seq range.
// The ids of one multi-row INSERT are consecutive only with innodb_autoinc_lock_mode 0 or 1
// and auto_increment_increment 1, and MySQL 8.0 defaults to mode 2, so the ids are read back
// instead of computed from the first one.
void read_inserted_ids(mysql::Connection& connection, const Counters& counters,
                       std::vector<InsertResult>& results) {
  std::vector<const Counters::value_type*> unresolved;
  size_t expected = 0;
  for (const auto& entry : counters) {
    size_t missing = 0;
    for (size_t index : entry.second.inserted) {
      missing += results[index].message.id == 0 ? 1 : 0;
    }
    if (missing > 0) {
      unresolved.push_back(&entry);
      expected += missing;
    }
  }
  static const mysql::ChunkedSql kIds(
      "SELECT conv_kind, conv_a, conv_b, seq, id FROM messages WHERE ",
      "(conv_kind = ? AND conv_a = ? AND conv_b = ? AND seq > ? AND seq <= ?)", " OR ", "");
  size_t found = 0;
  run_in_chunks(
      connection, kIds, unresolved.size(), /*padded=*/true,
      [&unresolved](Statement& statement, size_t i) {
        const auto& [tuple, counter] = *unresolved[i];
        bind_conv(statement, conv_key(tuple))
            .bind(counter.last_seq)
            .bind(counter.last_seq + static_cast<int64_t>(counter.inserted.size()));
      },
      [&](Statement& ids) {
        while (ids.step()) {
          const Counter& counter = counter_of(counters, read_conv_tuple(ids));
          const auto position = static_cast<size_t>(ids.column_int64(3) - counter.last_seq - 1);
          Message& message = results.at(counter.inserted.at(position)).message;
          if (message.id == 0) {
            ++found;
          }
          message.id = ids.column_int64(4);
        }
      });
  if (found != expected) {
    throw StoreError(std::string(kInsertOperation) + " failed: " + std::to_string(expected) +
                     " inserted messages were read back to find their ids, but " +
                     std::to_string(found) + " were found");
  }
}

// Stores the new last seq of every conversation the batch inserted into. The batch holds the
// lock on each of these rows since lock_counters, so the order of the updates does not matter.
void update_counters(mysql::Connection& connection, const Counters& counters) {
  std::vector<std::pair<ConvTuple, int64_t>> changed;
  for (const auto& [tuple, counter] : counters) {
    if (!counter.inserted.empty()) {
      changed.emplace_back(tuple, counter.last_seq + static_cast<int64_t>(counter.inserted.size()));
    }
  }
  // A join with a derived table of parameters updates many rows with different values in one
  // statement, in the SQL that MySQL and MariaDB share.
  static const mysql::ChunkedSql kUpdate(
      "UPDATE conversations c JOIN (",
      "SELECT ? AS conv_kind, ? AS conv_a, ? AS conv_b, ? AS last_seq", " UNION ALL ",
      ") v ON c.conv_kind = v.conv_kind AND c.conv_a = v.conv_a AND c.conv_b = v.conv_b "
      "SET c.last_seq = v.last_seq");
  run_in_chunks(
      connection, kUpdate, changed.size(), /*padded=*/false,
      [&changed](Statement& statement, size_t i) {
        bind_conv(statement, conv_key(changed[i].first)).bind(changed[i].second);
      },
      [](Statement& update) { update.run(); });
}

}  // namespace

std::vector<InsertResult> MysqlStore::insert_messages(const std::vector<Message>& batch) {
  if (batch.empty()) {
    return {};
  }
  Transaction transaction(connection_, kInsertOperation);

  // The counters are locked before the duplicate lookup, so a retry of a message that another
  // connection is inserting into the same conversation waits for that commit and then finds it.
  Counters counters;
  for (const Message& message : batch) {
    counters.emplace(conv_tuple(message.conv), Counter{});
  }
  lock_counters(connection_, counters);

  // The first message of the batch with each (sender, cid). A later one with the same key is a
  // duplicate of it, resolved once the first one has its id.
  std::map<CidKey, size_t> first_with_cid;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].cid.empty()) {
      first_with_cid.emplace(CidKey{batch[i].sender, batch[i].cid}, i);
    }
  }
  std::vector<CidKey> cids;
  cids.reserve(first_with_cid.size());
  for (const auto& [key, index] : first_with_cid) {
    cids.push_back(key);
  }
  const std::map<CidKey, Message> stored = find_stored_cids(connection_, cids);

  std::vector<InsertResult> results(batch.size());
  std::vector<size_t> repeats;
  std::vector<Message*> rows;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Message& message = batch[i];
    if (!message.cid.empty()) {
      const CidKey key{message.sender, message.cid};
      if (auto found = stored.find(key); found != stored.end()) {
        results[i] = InsertResult{found->second, true};
        continue;
      }
      if (first_with_cid.at(key) != i) {
        repeats.push_back(i);
        continue;
      }
    }
    Counter& counter = counters.at(conv_tuple(message.conv));
    Message& row = results[i].message;
    row = message;
    row.seq = counter.last_seq + 1 + static_cast<int64_t>(counter.inserted.size());
    if (row.ts == 0) {
      row.ts = system_clock_ms();
    }
    counter.inserted.push_back(i);
    rows.push_back(&row);
  }

  insert_rows(connection_, rows);
  read_inserted_ids(connection_, counters, results);
  for (size_t i : repeats) {
    const size_t first = first_with_cid.at(CidKey{batch[i].sender, batch[i].cid});
    results[i] = InsertResult{results[first].message, true};
  }
  update_counters(connection_, counters);
  transaction.commit();
  return results;
}

std::vector<Message> MysqlStore::messages_before(const ConvKey& conv, int64_t before_seq,
                                                 int limit) {
  if (limit <= 0) {
    return {};
  }
  // A bound instead of an optional condition keeps seq < ? a range on the index, so a deep
  // page costs one seek instead of a scan from the newest message. The index hint keeps
  // MariaDB 10.11 from choosing a ref access on the conversation columns alone for some
  // bounds. Without it, a page at seq 500,000 of a 1,000,000-message conversation read
  // 500,050 index entries backwards from the newest (Handler_read_prev) instead of 49.
  const int64_t bound = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
  Statement query = connection_.statement("SELECT" PARLEY_MESSAGE_COLUMNS
                                          "FROM messages m FORCE INDEX (messages_by_conv_seq) "
                                          "WHERE m.conv_kind = ? AND m.conv_a = ? AND m.conv_b = ? "
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
