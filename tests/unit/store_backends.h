#pragma once
// The backends that the store contract tests (store_contract_test.cc) run on. Each object is a
// fresh, empty database that lives as long as the object.
//
// A backend provides:
//   static constexpr const char* kName;
//   bool available() const;                   false when the database server is not configured
//   std::unique_ptr<Store> connect();         a new connection, schema not migrated
//   std::string query_text(const char* sql);  the first column of the first row, or "", read
//                                             behind the store's back

#include <filesystem>
#include <memory>
#include <string>

#include <mysql.h>

#include "store/mysql_url.h"
#include "store/store.h"

namespace parley::test {

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A database file in a temporary directory. Defined in store_sqlite_test.cc.
class SqliteBackend {
 public:
  static constexpr const char* kName = "sqlite";

  SqliteBackend();
  bool available() const { return true; }
  std::unique_ptr<store::Store> connect();
  std::string query_text(const char* sql);
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
};

// A database created on the server that PARLEY_TEST_MYSQL_URL names and dropped afterwards.
// Its name is the URL's database name followed by "_t", the process id and a counter, so the
// URL's user needs the privilege to create and drop such databases. Without the variable the
// backend is not available and the cases that use it return at once. Defined in
// store_mysql_test.cc.
class MysqlBackend {
 public:
  static constexpr const char* kName = "mysql";

  MysqlBackend();
  ~MysqlBackend();
  MysqlBackend(const MysqlBackend&) = delete;
  MysqlBackend& operator=(const MysqlBackend&) = delete;

  bool available() const { return admin_ != nullptr; }
  std::unique_ptr<store::Store> connect();
  std::string query_text(const char* sql);

  // The settings of the test database, and a connection to the server as the same user.
  const store::MysqlSettings& settings() const { return settings_; }
  MYSQL* admin() { return admin_; }
  // Runs SQL on the admin connection and fails the test case if it fails.
  void admin_execute(const std::string& sql);

 private:
  store::MysqlSettings settings_;
  MYSQL* admin_ = nullptr;
};

}  // namespace parley::test
