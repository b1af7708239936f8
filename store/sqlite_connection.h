#pragma once
// A thin RAII layer over the SQLite C API, used only by SqliteStore.
//
// Ownership and threads: a Connection owns one sqlite3 handle and its cache of prepared
// statements. It is opened in SQLite's multi-thread mode (SQLITE_OPEN_NOMUTEX), so one thread at
// a time may use a Connection and everything borrowed from it. Several Connections, on any
// threads, may share one database file: WAL mode lets readers run beside the single writer, and
// busy_timeout makes a second writer wait instead of failing at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace parley::store::detail {

class Statement;

// Unix ms from the system clock, for rows whose time the caller does not pass in.
inline int64_t system_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class Connection {
 public:
  // Opens (creating if missing) the database file at `path` and sets WAL mode, synchronous=FULL,
  // busy_timeout and foreign keys. Throws StoreError naming the path when any step fails.
  explicit Connection(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the cached prepared statement for `sql`, preparing it on first use. `operation`
  // names the store method in error messages. `sql` must be a constant of the program, never
  // text built from input. Throws StoreError if the statement is already borrowed, because a
  // cached statement cannot run twice at once.
  [[nodiscard]] Statement statement(std::string_view sql, const char* operation);

  // Runs SQL text without caching it. For schema changes only, which run once.
  void execute_script(const char* sql, const char* operation);

  [[nodiscard]] int64_t last_insert_rowid() const;
  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  [[nodiscard]] int changes() const;
  [[nodiscard]] bool in_transaction() const;

  // Throws StoreError with the operation, the SQLite message and the result code.
  [[noreturn]] void fail(const char* operation, int result_code) const;

  const std::string& path() const { return path_; }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool borrowed = false;
  };
  friend class Statement;

  void set_pragmas();

  std::string path_;
  sqlite3* db_ = nullptr;
  // Hashes std::string keys and std::string_view lookups alike, so a lookup copies nothing.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> cache_;
};

// A cached statement borrowed for one use. Binding indexes start at 1 and column indexes at 0,
// as in the C API. The destructor resets the statement and clears its bindings so that the next
// borrower starts clean.
class Statement {
 public:
  Statement(Connection& connection, Connection::CachedStatement& cached, const char* operation);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);

  // Advances to the next row. Returns false when there are no more rows.
  [[nodiscard]] bool step();
  // Steps a statement that returns no rows, such as INSERT, UPDATE or DELETE.
  void run();

  [[nodiscard]] int64_t column_int64(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] bool column_is_null(int column) const;

 private:
  Connection& connection_;
  Connection::CachedStatement& cached_;
  const char* operation_;
};

// A transaction that rolls back unless commit() succeeds. `immediate` takes the write lock at
// BEGIN (BEGIN IMMEDIATE). Every transaction that writes must be immediate: a deferred one that
// first reads and then writes can fail with SQLITE_BUSY without waiting when another connection
// committed in between, while BEGIN IMMEDIATE waits up to busy_timeout for the lock.
class Transaction {
 public:
  Transaction(Connection& connection, bool immediate, const char* operation);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
  const char* operation_;
  bool open_ = true;
};

}  // namespace parley::store::detail
