#include "store/sqlite_connection.h"

#include <sqlite3.h>
#include <strings.h>

#include <string>

#include "store/store.h"

namespace parley::store::detail {
namespace {

// How long a connection waits for another connection's write lock before failing with
// SQLITE_BUSY. NOTE: 5 s is a judgment, not a measurement: each write transaction of the store
// is one short batch, so a longer wait points to a stuck writer.
constexpr int kBusyTimeoutMs = 5000;

std::string describe_error(sqlite3* db, const char* operation, int result_code) {
  std::string text = operation;
  text += " failed: ";
  text += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(result_code);
  text += " (SQLite result code ";
  text += std::to_string(result_code);
  text += ")";
  return text;
}

}  // namespace

Connection::Connection(const std::string& path) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 allocates a handle even on failure, and only that handle has the message.
    std::string message = describe_error(db_, "opening database", rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(message + " at " + path);
  }
  sqlite3_extended_result_codes(db_, 1);
  try {
    set_pragmas();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) {
    sqlite3_finalize(cached.stmt);
  }
  // Unlike sqlite3_close, sqlite3_close_v2 does not fail with SQLITE_BUSY while statements
  // remain. It defers the close until they are finalized.
  sqlite3_close_v2(db_);
}

void Connection::set_pragmas() {
  const char* operation = "opening database";
  // The busy timeout comes first so that the pragmas below wait for a concurrent writer too.
  int rc = sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (rc != SQLITE_OK) {
    fail(operation, rc);
  }
  // journal_mode=WAL is stored in the file. It returns the resulting mode, which stays the old
  // one when WAL cannot be enabled (for example on an in-memory database).
  {
    Statement journal = statement("PRAGMA journal_mode = WAL", operation);
    std::string mode = journal.step() ? journal.column_text(0) : "";
    if (strcasecmp(mode.c_str(), "wal") != 0) {
      throw StoreError("opening database failed: cannot enable WAL mode on " + path_ +
                       " (journal_mode is '" + mode + "')");
    }
  }
  // synchronous=FULL syncs the WAL at every commit. NORMAL, the usual WAL choice, may lose the
  // last commits on power loss, and an acknowledged message must survive that.
  execute_script("PRAGMA synchronous = FULL", operation);
  // Foreign keys are off by default and must be enabled on every connection.
  execute_script("PRAGMA foreign_keys = ON", operation);
}

Statement Connection::statement(std::string_view sql, const char* operation) {
  auto found = cache_.find(sql);
  if (found == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      fail(operation, rc);
    }
    found = cache_.emplace(std::string(sql), CachedStatement{stmt}).first;
  }
  if (found->second.borrowed) {
    throw StoreError(std::string(operation) +
                     " failed: a cached SQL statement was used again before it finished");
  }
  return Statement(*this, found->second, operation);
}

void Connection::execute_script(const char* sql, const char* operation) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    fail(operation, rc);
  }
}

int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Connection::changes() const {
  return sqlite3_changes(db_);
}

bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void Connection::fail(const char* operation, int result_code) const {
  throw StoreError(describe_error(db_, operation, result_code));
}

Statement::Statement(Connection& connection, Connection::CachedStatement& cached,
                     const char* operation)
    : connection_(connection), cached_(cached), operation_(operation) {
  cached_.borrowed = true;
}

Statement::~Statement() {
  // reset returns the error of the last step again, which step() has already reported.
  sqlite3_reset(cached_.stmt);
  sqlite3_clear_bindings(cached_.stmt);
  cached_.borrowed = false;
}

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(cached_.stmt, index, value);
  if (rc != SQLITE_OK) {
    connection_.fail(operation_, rc);
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  // An empty string_view may have a null data pointer, which SQLite would bind as NULL.
  const char* data = value.data() != nullptr ? value.data() : "";
  const int rc =
      sqlite3_bind_text64(cached_.stmt, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    connection_.fail(operation_, rc);
  }
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(cached_.stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  connection_.fail(operation_, rc);
}

void Statement::run() {
  while (step()) {
  }
}

int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(cached_.stmt, column);
}

std::string Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(cached_.stmt, column));
  if (text == nullptr) {
    return {};
  }
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(cached_.stmt, column)));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(cached_.stmt, column) == SQLITE_NULL;
}

Transaction::Transaction(Connection& connection, bool immediate, const char* operation)
    : connection_(connection), operation_(operation) {
  connection_.statement(immediate ? "BEGIN IMMEDIATE" : "BEGIN", operation_).run();
}

Transaction::~Transaction() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) already roll the transaction back, and a
  // second ROLLBACK would fail with "no transaction is active".
  if (!open_ || !connection_.in_transaction()) {
    return;
  }
  try {
    connection_.statement("ROLLBACK", operation_).run();
  } catch (const StoreError&) {
    // The error that caused the rollback is already on its way to the caller. If ROLLBACK fails
    // too, the connection stays inside the transaction and its next BEGIN throws StoreError.
  }
}

void Transaction::commit() {
  connection_.statement("COMMIT", operation_).run();
  open_ = false;
}

}  // namespace parley::store::detail
