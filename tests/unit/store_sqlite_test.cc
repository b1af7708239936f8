// Tests of the SQLite backend that only it has (WAL mode, files, open_store's directory), and the
// SQLite backend of the store contract cases in store_contract_test.cc.

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/unit/store_backends.h"

namespace parley::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "parley-store-test-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

SqliteBackend::SqliteBackend() : path_((dir_.path() / "parley.db").string()) {}

std::unique_ptr<store::Store> SqliteBackend::connect() {
  return std::make_unique<store::SqliteStore>(path_);
}

// Runs one SQL statement with the raw C API, to inspect the file behind the store's back.
std::string SqliteBackend::query_text(const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path_.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

}  // namespace parley::test

namespace {

namespace fs = std::filesystem;
using parley::store::SqliteStore;
using parley::store::StoreError;
using parley::test::SqliteBackend;
using parley::test::TempDir;

}  // namespace

TEST_CASE("sqlite database uses WAL mode") {
  SqliteBackend backend;
  auto store = backend.connect();
  store->migrate();
  CHECK(backend.query_text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("open_store creates the directory") {
  TempDir dir;
  const fs::path path = dir.path() / "nested" / "deeper" / "parley.db";
  auto store = parley::store::open_store("sqlite:" + path.string());
  REQUIRE(store != nullptr);
  store->migrate();
  CHECK(fs::exists(path));
  CHECK(store->create_user("a", "h", "A", 1).has_value());
}

TEST_CASE("open_store rejects other URLs") {
  using parley::store::open_store;
  CHECK_THROWS_WITH_AS(open_store("postgres://root:hunter2@127.0.0.1:5432/parley"),
                       doctest::Contains("unsupported database URL scheme 'postgres'"), StoreError);
  try {
    open_store("postgres://root:hunter2@127.0.0.1:5432/parley");
  } catch (const StoreError& error) {
    const std::string message = error.what();
    CHECK(message.find("hunter2") == std::string::npos);
    CHECK(message.find("expected sqlite:PATH") != std::string::npos);
  }
  CHECK_THROWS_AS(open_store("sqlite:"), StoreError);
  CHECK_THROWS_AS(open_store("/var/lib/parley.db"), StoreError);
  CHECK_THROWS_AS(open_store(""), StoreError);
  try {
    open_store("root:hunter2@host/db");
  } catch (const StoreError& error) {
    CHECK(std::string(error.what()).find("hunter2") == std::string::npos);
  }
}

TEST_CASE("sqlite store reports an unopenable path") {
  TempDir dir;
  const std::string path = (dir.path() / "missing-dir" / "parley.db").string();
  CHECK_THROWS_WITH_AS(SqliteStore{path}, doctest::Contains(path.c_str()), StoreError);
}
