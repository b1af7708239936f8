#include "store/mysql_connection.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

#include "net/log.h"
#include "store/store.h"

namespace parley::store::mysql {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// NOTE: the timeouts are judgments, not measurements. A connect to a live server on a local
// network takes milliseconds. A read waits for the slowest statement of the store, a batch
// insert or the conversation list of a large account, which should take well under 30 s.
constexpr unsigned kConnectTimeoutS = 5;
constexpr unsigned kReadTimeoutS = 30;
constexpr unsigned kWriteTimeoutS = 30;
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{5000};
// A connection unused for this long is pinged before use: the server closes idle connections
// after wait_timeout (8 hours by default), and a ping that fails costs a reconnect instead of a
// failed call.
constexpr auto kPingWhenIdle = std::chrono::seconds(30);

// The session settings of every connection:
// - utf8mb4 for everything sent and received, whatever the server's default (MariaDB's is
//   latin1).
// - Strict mode, so that a value too long for its column fails instead of being truncated.
// - READ COMMITTED, so that every read sees the latest committed rows, as SQLite's readers do.
//   Writes that read first lock what they read (SELECT ... FOR UPDATE).
// - A lock wait of at most 5 s, the same as the SQLite backend's busy timeout.
constexpr std::string_view kSessionSetup[] = {
    "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
    "SET SESSION sql_mode = 'TRADITIONAL'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET SESSION innodb_lock_wait_timeout = 5",
};

// Errors after which the connection cannot be used any more. Client library errors (2000-2999)
// are lost connections, protocol errors or out-of-sync commands, so the connection is replaced
// for all of them.
bool is_connection_error(unsigned error_number) {
  if (error_number >= 2000 && error_number < 3000) {
    return true;
  }
  switch (error_number) {
    case ER_SERVER_SHUTDOWN:
    case ER_ABORTING_CONNECTION:
    case ER_NEW_ABORTING_CONNECTION:
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_CONNECTION_KILLED:
      return true;
    default:
      return false;
  }
}

bool is_integer_type(enum_field_types type) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      return true;
    default:
      return false;
  }
}

}  // namespace

Connection::Connection(MysqlSettings settings)
    : settings_(std::move(settings)), address_(settings_.describe()) {
  connect();
}

Connection::~Connection() {
  disconnect();
}

void Connection::connect() {
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) {
    throw StoreError("connecting to " + address_ + " failed: mysql_init is out of memory");
  }
  mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &kConnectTimeoutS);
  mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &kReadTimeoutS);
  mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &kWriteTimeoutS);
  mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const unsigned protocol = settings_.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol);

  const bool socket = !settings_.socket.empty();
  MYSQL* connected = mysql_real_connect(mysql_, socket ? "localhost" : settings_.host.c_str(),
                                        settings_.user.c_str(), settings_.password.c_str(),
                                        settings_.database.c_str(), socket ? 0 : settings_.port,
                                        socket ? settings_.socket.c_str() : nullptr, 0);
  if (connected == nullptr) {
    std::string message = "connecting to " + address_ + " failed: " + last_error_text();
    disconnect();
    throw StoreError(message);
  }
  try {
    for (std::string_view sql : kSessionSetup) {
      query(sql, "connecting");
    }
  } catch (const StoreError& error) {
    disconnect();
    throw StoreError("setting up the session on " + address_ + " failed: " + error.what());
  }
  last_used_ = Clock::now();
}

void Connection::disconnect() {
  // mysql_close detaches the statements from the handle, so closing them afterwards only frees
  // their memory and sends nothing over a connection that may be dead. The server frees its
  // side of the statements when the connection closes.
  if (mysql_ != nullptr) {
    mysql_close(mysql_);
    mysql_ = nullptr;
  }
  for (auto& [sql, cached] : cache_) {
    mysql_stmt_close(cached.stmt);
  }
  cache_.clear();
  broken_ = false;
}

std::string Connection::last_error_text() const {
  return std::string(mysql_error(mysql_)) + " (MySQL error " + std::to_string(mysql_errno(mysql_)) +
         ")";
}

void Connection::ensure_connected(const char* operation) {
  // libmysqlclient requires each thread that uses the API to call mysql_thread_init first, and
  // a store is created on one thread and used on another. In MariaDB Connector/C it does nothing.
  thread_local const bool thread_ready = mysql_thread_init() == 0;
  (void)thread_ready;
  if (in_transaction_ || borrowed_ > 0) {
    if (broken_ || mysql_ == nullptr) {
      throw StoreError(std::string(operation) + " failed: the connection to " + address_ +
                       " was lost while a transaction or statement was using it");
    }
    return;
  }
  const auto now = Clock::now();
  if (broken_) {
    disconnect();
  } else if (mysql_ != nullptr && now - last_used_ > kPingWhenIdle) {
    if (mysql_ping(mysql_) != 0) {
      const unsigned error_number = mysql_errno(mysql_);
      if (!is_connection_error(error_number)) {
        fail(operation, error_number, mysql_error(mysql_));
      }
      net::log(net::LogLevel::kInfo, "store: the idle connection to ", address_, " was closed (",
               mysql_error(mysql_), "); reconnecting");
      disconnect();
    }
  }
  if (mysql_ == nullptr) {
    if (now < next_attempt_) {
      const auto wait = std::chrono::duration_cast<milliseconds>(next_attempt_ - now);
      throw StoreError(std::string(operation) + " failed: the database " + address_ +
                       " is unavailable (" + last_failure_ +
                       "); the next reconnect attempt is in " + std::to_string(wait.count()) +
                       " ms");
    }
    try {
      connect();
    } catch (const StoreError& error) {
      ++failed_attempts_;
      backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
      next_attempt_ = now + backoff_;
      last_failure_ = error.what();
      net::log(net::LogLevel::kWarn, "store: reconnect attempt ", failed_attempts_,
               " failed: ", error.what(), "; the next attempt is in ", backoff_.count(),
               " ms at the earliest");
      throw StoreError(std::string(operation) + " failed: " + error.what());
    }
    net::log(net::LogLevel::kInfo, "store: reconnected to ", address_, " after ", failed_attempts_,
             " failed attempts");
    failed_attempts_ = 0;
    backoff_ = milliseconds{0};
    next_attempt_ = {};
  }
  last_used_ = now;
}

void Connection::fail(const char* operation, unsigned error_number, const char* message) {
  if (is_connection_error(error_number) && !broken_) {
    broken_ = true;
    last_failure_ = message;
    net::log(net::LogLevel::kWarn, "store: lost the connection to ", address_, " during ",
             operation, ": ", message, " (MySQL error ", error_number,
             "); reconnecting at the next call");
  }
  throw StoreError(std::string(operation) + " failed: " + message + " (MySQL error " +
                   std::to_string(error_number) + ")");
}

void Connection::execute(std::string_view sql, const char* operation) {
  ensure_connected(operation);
  query(sql, operation);
}

void Connection::query(std::string_view sql, const char* operation) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    fail(operation, mysql_errno(mysql_), mysql_error(mysql_));
  }
  // A statement without a result set returns null here. Any result is read and discarded so
  // that the connection is ready for the next command.
  if (MYSQL_RES* result = mysql_store_result(mysql_)) {
    mysql_free_result(result);
  } else if (mysql_field_count(mysql_) != 0) {
    fail(operation, mysql_errno(mysql_), mysql_error(mysql_));
  }
}

Statement Connection::statement(std::string_view sql, const char* operation) {
  ensure_connected(operation);
  auto found = cache_.find(sql);
  if (found == cache_.end()) {
    MYSQL_STMT* stmt = mysql_stmt_init(mysql_);
    if (stmt == nullptr) {
      fail(operation, mysql_errno(mysql_), mysql_error(mysql_));
    }
    if (mysql_stmt_prepare(stmt, sql.data(), sql.size()) != 0) {
      const unsigned error_number = mysql_stmt_errno(stmt);
      const std::string message = mysql_stmt_error(stmt);
      mysql_stmt_close(stmt);
      fail(operation, error_number, message.c_str());
    }
    // Makes mysql_stmt_store_result record the longest value of each column, which sizes the
    // result buffers.
    const Flag update_max_length = 1;
    mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max_length);
    CachedStatement cached;
    cached.stmt = stmt;
    found = cache_.emplace(std::string(sql), std::move(cached)).first;
  }
  if (found->second.borrowed) {
    throw StoreError(std::string(operation) +
                     " failed: a cached SQL statement was used again before it finished");
  }
  return Statement(*this, found->second, operation);
}

Statement::Statement(Connection& connection, Connection::CachedStatement& cached,
                     const char* operation)
    : connection_(connection), cached_(cached), operation_(operation) {
  cached_.borrowed = true;
  cached_.parameters.clear();
  ++connection_.borrowed_;
}

Statement::~Statement() {
  // The result is buffered on the client, so freeing it sends nothing to the server.
  if (has_result_) {
    mysql_stmt_free_result(cached_.stmt);
  }
  cached_.parameters.clear();
  cached_.borrowed = false;
  --connection_.borrowed_;
}

Statement& Statement::bind(int64_t value) {
  Connection::Parameter parameter;
  parameter.integer = value;
  cached_.parameters.push_back(std::move(parameter));
  return *this;
}

Statement& Statement::bind(std::string_view value) {
  Connection::Parameter parameter;
  parameter.kind = Connection::Parameter::Kind::kText;
  parameter.text = value;
  cached_.parameters.push_back(std::move(parameter));
  return *this;
}

Statement& Statement::bind_bytes(std::string_view value) {
  Connection::Parameter parameter;
  parameter.kind = Connection::Parameter::Kind::kBytes;
  parameter.text = value;
  cached_.parameters.push_back(std::move(parameter));
  return *this;
}

void Statement::fail() {
  connection_.fail(operation_, mysql_stmt_errno(cached_.stmt), mysql_stmt_error(cached_.stmt));
}

void Statement::execute() {
  MYSQL_STMT* stmt = cached_.stmt;
  std::vector<Connection::Parameter>& parameters = cached_.parameters;
  if (parameters.size() != mysql_stmt_param_count(stmt)) {
    throw StoreError(std::string(operation_) + " failed: " + std::to_string(parameters.size()) +
                     " parameters were bound to a statement that has " +
                     std::to_string(mysql_stmt_param_count(stmt)));
  }
  // The library copies the MYSQL_BIND array, but reads the values it points to at execute.
  std::vector<MYSQL_BIND> binds(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    Connection::Parameter& parameter = parameters[i];
    MYSQL_BIND& bind = binds[i];
    switch (parameter.kind) {
      case Connection::Parameter::Kind::kInteger:
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = &parameter.integer;
        break;
      case Connection::Parameter::Kind::kText:
      case Connection::Parameter::Kind::kBytes:
        // A BLOB parameter has the binary character set, so the server does not check or
        // convert its bytes. A STRING parameter is in the connection's character set.
        bind.buffer_type = parameter.kind == Connection::Parameter::Kind::kText ? MYSQL_TYPE_STRING
                                                                                : MYSQL_TYPE_BLOB;
        bind.buffer = parameter.text.data();
        bind.buffer_length = parameter.text.size();
        break;
    }
  }
  if (!binds.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0) {
    fail();
  }
  if (mysql_stmt_execute(stmt) != 0) {
    fail();
  }
  executed_ = true;
  const unsigned field_count = mysql_stmt_field_count(stmt);
  if (field_count == 0) {
    return;
  }
  if (mysql_stmt_store_result(stmt) != 0) {
    fail();
  }
  has_result_ = true;

  MYSQL_RES* metadata = mysql_stmt_result_metadata(stmt);
  if (metadata == nullptr) {
    fail();
  }
  const MYSQL_FIELD* fields = mysql_fetch_fields(metadata);
  cached_.columns.resize(field_count);
  cached_.result_binds.assign(field_count, MYSQL_BIND{});
  for (unsigned i = 0; i < field_count; ++i) {
    Connection::Column& column = cached_.columns[i];
    MYSQL_BIND& bind = cached_.result_binds[i];
    column.is_integer = is_integer_type(fields[i].type);
    if (column.is_integer) {
      bind.buffer_type = MYSQL_TYPE_LONGLONG;
      bind.buffer = &column.integer;
      bind.is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
    } else {
      // Any other type (text, bytes, DECIMAL from SUM) is fetched as its text form.
      column.text.resize(std::max<size_t>(fields[i].max_length, 1));
      bind.buffer_type = MYSQL_TYPE_STRING;
      bind.buffer = column.text.data();
      bind.buffer_length = column.text.size();
    }
    bind.length = &column.length;
    bind.is_null = &column.is_null;
    bind.error = &column.truncated;
  }
  mysql_free_result(metadata);
  if (mysql_stmt_bind_result(stmt, cached_.result_binds.data()) != 0) {
    fail();
  }
}

bool Statement::step() {
  if (!executed_) {
    execute();
  }
  if (!has_result_) {
    return false;
  }
  const int rc = mysql_stmt_fetch(cached_.stmt);
  if (rc == 0) {
    return true;
  }
  if (rc == MYSQL_NO_DATA) {
    return false;
  }
  if (rc == MYSQL_DATA_TRUNCATED) {
    throw StoreError(std::string(operation_) +
                     " failed: a column value is longer than the longest the server reported");
  }
  fail();
}

void Statement::run() {
  if (!executed_) {
    execute();
  }
}

int64_t Statement::column_int64(int column) const {
  const Connection::Column& value = cached_.columns.at(static_cast<size_t>(column));
  if (value.is_null) {
    return 0;
  }
  if (value.is_integer) {
    return value.integer;
  }
  int64_t number = 0;
  std::from_chars(value.text.data(), value.text.data() + value.length, number);
  return number;
}

std::string Statement::column_text(int column) const {
  const Connection::Column& value = cached_.columns.at(static_cast<size_t>(column));
  if (value.is_null) {
    return {};
  }
  if (value.is_integer) {
    return std::to_string(value.integer);
  }
  return std::string(value.text.data(), value.length);
}

bool Statement::column_is_null(int column) const {
  return cached_.columns.at(static_cast<size_t>(column)).is_null != 0;
}

uint64_t Statement::affected_rows() const {
  return mysql_stmt_affected_rows(cached_.stmt);
}

int64_t Statement::insert_id() const {
  return static_cast<int64_t>(mysql_stmt_insert_id(cached_.stmt));
}

Transaction::Transaction(Connection& connection, const char* operation)
    : connection_(connection), operation_(operation) {
  connection_.execute("START TRANSACTION", operation_);
  connection_.in_transaction_ = true;
}

Transaction::~Transaction() {
  if (!connection_.in_transaction_) {
    return;
  }
  // A lost connection needs no ROLLBACK: the server rolled the transaction back when the
  // connection closed.
  if (!connection_.broken_) {
    try {
      connection_.execute("ROLLBACK", operation_);
    } catch (const StoreError&) {
      // The error that caused the rollback is already on its way to the caller. The server
      // may still hold the transaction open, so the connection is replaced at the next call:
      // closing it rolls the transaction back.
      connection_.broken_ = true;
    }
  }
  connection_.in_transaction_ = false;
}

void Transaction::commit() {
  connection_.execute("COMMIT", operation_);
  connection_.in_transaction_ = false;
}

}  // namespace parley::store::mysql
