#pragma once
// A thin RAII layer over the MySQL C API (libmysqlclient or MariaDB Connector/C), used only by
// MysqlStore.
//
// Ownership and threads: a Connection owns one MYSQL handle and its cache of prepared
// statements, and one thread at a time may use it and everything borrowed from it.
//
// Lost connections: when a call fails because the server went away (or was restarted, or
// closed an idle connection), the Connection throws StoreError and marks itself broken. The
// next statement() reconnects first. When reconnecting fails, the following calls throw
// StoreError at once without touching the network until a backoff delay has passed: 100 ms
// after the first failed attempt, doubling up to 5 s. A connection is never re-established in
// the middle of a transaction, because the server has already rolled that transaction back.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <mysql.h>

#include "store/mysql_url.h"

namespace parley::store::mysql {

class Statement;

class Connection {
 public:
  // Connects and sets up the session (utf8mb4, strict SQL mode, READ COMMITTED). Throws
  // StoreError naming the server but not the password when that fails.
  explicit Connection(MysqlSettings settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the cached prepared statement for `sql`, preparing it on first use, after
  // reconnecting if the connection was lost. `operation` names the store method in error
  // messages. `sql` must be made of constants of the program only (a ChunkedSql repeats
  // constant parts), never of input. Throws StoreError if the statement is already borrowed,
  // because a cached statement cannot run twice at once.
  [[nodiscard]] Statement statement(std::string_view sql, const char* operation);

  // Runs SQL text without a prepared statement and discards any result. For session set-up,
  // transaction control and schema changes, whose text is a constant.
  void execute(std::string_view sql, const char* operation);

  [[nodiscard]] bool in_transaction() const { return in_transaction_; }
  // The server address without the password, for messages.
  [[nodiscard]] const std::string& address() const { return address_; }

  // Throws StoreError with the operation, the server's message and the error number. Marks the
  // connection broken when the number means the connection itself failed.
  [[noreturn]] void fail(const char* operation, unsigned error_number, const char* message);

 private:
  friend class Statement;
  friend class Transaction;

  struct Parameter {
    enum class Kind { kInteger, kText, kBytes };
    Kind kind = Kind::kInteger;
    int64_t integer = 0;
    std::string text;
  };
  // my_bool in MariaDB Connector/C, bool in libmysqlclient 8.
  using Flag = std::remove_pointer_t<decltype(MYSQL_BIND::is_null)>;
  struct Column {
    bool is_integer = false;
    int64_t integer = 0;
    std::string text;          // sized to the longest value of the buffered result
    unsigned long length = 0;  // bytes of the current row's value
    Flag is_null = 0;
    Flag truncated = 0;
  };
  struct CachedStatement {
    MYSQL_STMT* stmt = nullptr;
    bool borrowed = false;
    std::vector<Parameter> parameters;
    std::vector<Column> columns;
    std::vector<MYSQL_BIND> result_binds;  // point into `columns` while a result is read
  };

  void connect();
  void disconnect();
  // Runs `sql` on the current handle without checking the connection first.
  void query(std::string_view sql, const char* operation);
  // Makes sure there is a live connection before a statement runs: reconnects after a failure
  // unless the backoff delay has not passed yet, and pings a connection idle for a while,
  // because the server may have closed it (wait_timeout).
  void ensure_connected(const char* operation);
  [[nodiscard]] std::string last_error_text() const;

  MysqlSettings settings_;
  std::string address_;
  MYSQL* mysql_ = nullptr;
  bool broken_ = false;
  bool in_transaction_ = false;
  // Statements borrowed now. The connection is never replaced while one is, because replacing
  // it closes every cached statement.
  int borrowed_ = 0;

  // Reconnect state, used while mysql_ is null.
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  int failed_attempts_ = 0;
  std::string last_failure_;
  std::chrono::steady_clock::time_point last_used_{};

  // Hashes std::string keys and std::string_view lookups alike, so a lookup copies nothing.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> cache_;
};

// A cached statement borrowed for one use. Parameters are bound in the order of the '?'
// placeholders in the SQL text. Column indexes start at 0. The statement executes at the first
// step() or at run(), and its whole result is buffered on the client then, so that other
// statements of the same connection may run while its rows are read.
class Statement {
 public:
  Statement(Connection& connection, Connection::CachedStatement& cached, const char* operation);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int64_t value);
  // Text in the connection's character set, utf8mb4.
  Statement& bind(std::string_view value);
  // Raw bytes, compared byte by byte with VARBINARY columns even when not valid UTF-8.
  Statement& bind_bytes(std::string_view value);

  // Advances to the next row. Returns false when there are no more rows.
  [[nodiscard]] bool step();
  // Executes a statement that returns no rows, such as INSERT, UPDATE or DELETE.
  void run();

  [[nodiscard]] int64_t column_int64(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] bool column_is_null(int column) const;

  // Rows changed by the executed INSERT, UPDATE or DELETE. Without the CLIENT_FOUND_ROWS flag,
  // which this connection does not set, a row updated to its current values does not count,
  // and neither does the existing row of INSERT ... ON DUPLICATE KEY UPDATE x = x.
  [[nodiscard]] uint64_t affected_rows() const;
  // The AUTO_INCREMENT id of the row the executed INSERT created.
  [[nodiscard]] int64_t insert_id() const;

 private:
  void execute();
  [[noreturn]] void fail();

  Connection& connection_;
  Connection::CachedStatement& cached_;
  const char* operation_;
  bool executed_ = false;
  bool has_result_ = false;
};

// A transaction that rolls back unless commit() succeeds.
class Transaction {
 public:
  Transaction(Connection& connection, const char* operation);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
  const char* operation_;
};

}  // namespace parley::store::mysql
