// Tests of the MySQL backend that only it has (URL parsing, passwords, utf8mb4, lost
// connections), and the MySQL backend of the store contract cases in store_contract_test.cc.
//
// The cases that need a server run when PARLEY_TEST_MYSQL_URL names one, for example the URL
// that `scripts/mariadb.sh start DIR` prints; without it they return at once. The others always
// run.

#include <errmsg.h>
#include <mysql.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "store/mysql_store.h"
#include "store/mysql_url.h"
#include "store/store.h"
#include "tests/unit/store_backends.h"

namespace parley::test {
namespace {

constexpr const char* kUrlVariable = "PARLEY_TEST_MYSQL_URL";

// The settings from PARLEY_TEST_MYSQL_URL, or nullopt without it. Says once per process why
// the cases are skipped.
std::optional<store::MysqlSettings> server_settings() {
  const char* url = std::getenv(kUrlVariable);
  if (url == nullptr || *url == '\0') {
    static std::atomic<bool> told{false};
    if (!told.exchange(true)) {
      std::fprintf(stderr,
                   "PARLEY_TEST_MYSQL_URL is not set, so the MySQL store cases pass without "
                   "running. Set it to mysql://USER:PASSWORD@HOST:PORT/DATABASE, for example the "
                   "URL that scripts/mariadb.sh start DIR prints.\n");
    }
    return std::nullopt;
  }
  const std::string_view text(url);
  REQUIRE_MESSAGE(text.substr(0, 6) == "mysql:", "PARLEY_TEST_MYSQL_URL must start with mysql:");
  return store::parse_mysql_url(text.substr(6));
}

// A database name unique to this process and object.
std::string unique_database(const std::string& base) {
  static std::atomic<int> counter{0};
  return base + "_t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

}  // namespace

MysqlBackend::MysqlBackend() {
  std::optional<store::MysqlSettings> settings = server_settings();
  if (!settings) {
    return;
  }
  settings_ = *settings;
  settings_.database = unique_database(settings_.database);

  MYSQL* admin = mysql_init(nullptr);
  REQUIRE(admin != nullptr);
  mysql_options(admin, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const bool socket = !settings_.socket.empty();
  if (mysql_real_connect(admin, socket ? "localhost" : settings_.host.c_str(),
                         settings_.user.c_str(), settings_.password.c_str(), nullptr,
                         socket ? 0 : settings_.port, socket ? settings_.socket.c_str() : nullptr,
                         0) == nullptr) {
    const std::string error = mysql_error(admin);
    mysql_close(admin);
    FAIL("cannot connect to " << settings_.describe() << ": " << error);
  }
  admin_ = admin;
  admin_execute("DROP DATABASE IF EXISTS `" + settings_.database + "`");
  admin_execute("CREATE DATABASE `" + settings_.database +
                "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
  REQUIRE(mysql_select_db(admin_, settings_.database.c_str()) == 0);
}

MysqlBackend::~MysqlBackend() {
  if (admin_ == nullptr) {
    return;
  }
  const std::string drop = "DROP DATABASE IF EXISTS `" + settings_.database + "`";
  mysql_real_query(admin_, drop.data(), drop.size());
  mysql_close(admin_);
}

void MysqlBackend::admin_execute(const std::string& sql) {
  if (mysql_real_query(admin_, sql.data(), sql.size()) != 0) {
    FAIL(sql << " failed: " << mysql_error(admin_));
  }
  if (MYSQL_RES* result = mysql_store_result(admin_)) {
    mysql_free_result(result);
  }
}

std::unique_ptr<store::Store> MysqlBackend::connect() {
  return std::make_unique<store::MysqlStore>(settings_);
}

std::string MysqlBackend::query_text(const char* sql) {
  // The admin connection may have been idle long enough for the server to close it.
  REQUIRE(mysql_ping(admin_) == 0);
  REQUIRE_MESSAGE(mysql_query(admin_, sql) == 0, sql << " failed: " << mysql_error(admin_));
  MYSQL_RES* result = mysql_store_result(admin_);
  if (result == nullptr) {
    return "";
  }
  std::string text;
  MYSQL_ROW row = mysql_fetch_row(result);
  if (row != nullptr && row[0] != nullptr) {
    text.assign(row[0], mysql_fetch_lengths(result)[0]);
  }
  mysql_free_result(result);
  return text;
}

}  // namespace parley::test

namespace {

using parley::store::ConvKey;
using parley::store::Message;
using parley::store::MysqlSettings;
using parley::store::parse_mysql_url;
using parley::store::StoreError;
using parley::test::MysqlBackend;

// Sets an environment variable for the lifetime of the object and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string error_of(std::string_view rest) {
  try {
    parse_mysql_url(rest);
  } catch (const StoreError& error) {
    return error.what();
  }
  return "";
}

// Kills every connection to the backend's database except the admin connection, as a server
// restart or a network failure would end them.
void kill_store_connections(MysqlBackend& backend) {
  const std::string find = "SELECT id FROM information_schema.processlist WHERE db = '" +
                           backend.settings().database + "' AND id <> CONNECTION_ID()";
  REQUIRE(mysql_query(backend.admin(), find.c_str()) == 0);
  MYSQL_RES* result = mysql_store_result(backend.admin());
  REQUIRE(result != nullptr);
  std::vector<std::string> ids;
  while (MYSQL_ROW row = mysql_fetch_row(result)) {
    ids.emplace_back(row[0]);
  }
  mysql_free_result(result);
  REQUIRE_FALSE(ids.empty());
  for (const std::string& id : ids) {
    backend.admin_execute("KILL CONNECTION " + id);
  }
}

}  // namespace

TEST_CASE("mysql url with host, port and database") {
  ScopedEnv no_password("PARLEY_DB_PASSWORD", nullptr);
  ScopedEnv no_file("PARLEY_DB_PASSWORD_FILE", nullptr);
  MysqlSettings settings = parse_mysql_url("//parley:s3cret@db.example:3307/chat");
  CHECK(settings.user == "parley");
  CHECK(settings.password == "s3cret");
  CHECK(settings.host == "db.example");
  CHECK(settings.port == 3307);
  CHECK(settings.socket.empty());
  CHECK(settings.database == "chat");
  CHECK(settings.describe() == "parley@db.example:3307/chat");

  MysqlSettings defaults = parse_mysql_url("//parley@127.0.0.1/chat");
  CHECK(defaults.port == 3306);
  CHECK(defaults.password.empty());

  MysqlSettings ipv6 = parse_mysql_url("//u:p@[::1]:3310/chat");
  CHECK(ipv6.host == "::1");
  CHECK(ipv6.port == 3310);
  CHECK(ipv6.describe() == "u@[::1]:3310/chat");
}

TEST_CASE("mysql url with unix socket") {
  MysqlSettings settings = parse_mysql_url("//parley:pw@/chat?socket=/run/mysqld/mysqld.sock");
  CHECK(settings.socket == "/run/mysqld/mysqld.sock");
  CHECK(settings.host.empty());
  CHECK(settings.database == "chat");
  CHECK(settings.describe() == "parley@unix(/run/mysqld/mysqld.sock)/chat");

  // A host given with a socket is ignored, and the path may be percent-encoded.
  MysqlSettings encoded = parse_mysql_url("//parley:pw@localhost/chat?socket=%2Ftmp%2Fa%20b.sock");
  CHECK(encoded.socket == "/tmp/a b.sock");
  CHECK(encoded.host.empty());
}

TEST_CASE("mysql url password escapes") {
  // Percent escapes, and raw '/', ':' and '?' in the password: the first '@' ends it.
  MysqlSettings escaped = parse_mysql_url("//us%3Aer:p%40ss%25@h/chat");
  CHECK(escaped.user == "us:er");
  CHECK(escaped.password == "p@ss%");
  MysqlSettings raw = parse_mysql_url("//user:a/b:c?d@h:1/chat");
  CHECK(raw.password == "a/b:c?d");
  CHECK(raw.host == "h");
  CHECK(raw.port == 1);
  CHECK(raw.database == "chat");
}

TEST_CASE("mysql url errors hide the password") {
  const char* cases[] = {
      "parley:hunter2@h/chat",          // no "//"
      "//parley:hunter2@h",             // no database
      "//parley:hunter2@h/",            // empty database
      "//parley:hunter2@h:0/chat",      // port out of range
      "//parley:hunter2@h:99999/chat",  // port out of range
      "//parley:hunter2@h:33a/chat",    // port not a number
      "//parley:hunter2@/chat",         // no host and no socket
      "//parley:hunter2@h/chat?ssl=1",  // unknown parameter
      "//parley:hunter2%zz@h/chat",     // bad escape in the password
      "//parley:hunter2@[::1/chat",     // unclosed IPv6 bracket
      "//parley:hunter@2@h/chat",       // raw '@' in the password
  };
  for (const char* rest : cases) {
    CAPTURE(rest);
    const std::string message = error_of(rest);
    CHECK(message.find("invalid database URL") != std::string::npos);
    CHECK(message.find("hunter") == std::string::npos);
  }
}

TEST_CASE("mysql password from environment and file") {
  ScopedEnv no_password("PARLEY_DB_PASSWORD", nullptr);
  ScopedEnv no_file("PARLEY_DB_PASSWORD_FILE", nullptr);
  CHECK(parse_mysql_url("//u@h/chat").password.empty());

  parley::test::TempDir dir;
  const std::string path = (dir.path() / "password").string();
  std::ofstream(path) << "from-file\nsecond line\n";
  {
    ScopedEnv file("PARLEY_DB_PASSWORD_FILE", path.c_str());
    CHECK(parse_mysql_url("//u@h/chat").password == "from-file");
    // The environment variable comes before the file, and the URL before both.
    ScopedEnv variable("PARLEY_DB_PASSWORD", "from-env");
    CHECK(parse_mysql_url("//u@h/chat").password == "from-env");
    CHECK(parse_mysql_url("//u:from-url@h/chat").password == "from-url");
    // An empty password in the URL is a password too.
    CHECK(parse_mysql_url("//u:@h/chat").password.empty());
  }
  ScopedEnv missing("PARLEY_DB_PASSWORD_FILE", (dir.path() / "missing").c_str());
  CHECK_THROWS_WITH_AS(parse_mysql_url("//u@h/chat"), doctest::Contains("PARLEY_DB_PASSWORD_FILE"),
                       StoreError);
}

TEST_CASE("mysql open_store reports an unreachable server") {
  // Port 1 on the loopback address refuses connections at once.
  try {
    parley::store::open_store("mysql://parley:hunter2@127.0.0.1:1/chat");
    FAIL("open_store connected to 127.0.0.1:1");
  } catch (const StoreError& error) {
    const std::string message = error.what();
    CHECK(message.find("parley@127.0.0.1:1/chat") != std::string::npos);
    CHECK(message.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("mysql stores utf8mb4 text and exact names") {
  MysqlBackend backend;
  if (!backend.available()) {
    return;
  }
  auto store = backend.connect();
  store->migrate();

  // Four-byte UTF-8 (outside the Basic Multilingual Plane) needs utf8mb4 end to end.
  const std::string emoji = "party \xF0\x9F\x8E\x89 \xE4\xBD\xA0\xE5\xA5\xBD";
  auto user = store->create_user("emoji", "h", emoji, 1);
  REQUIRE(user.has_value());
  CHECK(store->get_user(user->id)->nickname == emoji);
  Message message;
  message.conv = ConvKey::direct(user->id, user->id);
  message.sender = user->id;
  message.dst = user->id;
  message.ts = 1;
  message.cid = "\xF0\x9F\x93\xA8";
  message.content = emoji;
  auto stored = store->insert_messages({message});
  REQUIRE(stored.size() == 1);
  auto read = store->get_message(stored[0].message.id);
  REQUIRE(read.has_value());
  CHECK(read->content == emoji);
  CHECK(read->cid == message.cid);
  CHECK(backend.query_text("SELECT CHAR_LENGTH(content) FROM messages") == "10");

  // Names compare byte by byte: case and trailing spaces count.
  CHECK(store->create_user("Emoji", "h", "n", 1).has_value());
  CHECK(store->create_user("emoji ", "h", "n", 1).has_value());
  CHECK_FALSE(store->create_user("emoji", "h", "n", 1).has_value());
  CHECK(store->find_credentials("emoji ")->user.username == "emoji ");
  CHECK(store->search_users("emoji", 10).size() == 2);
}

TEST_CASE("mysql reconnects after a lost connection") {
  MysqlBackend backend;
  if (!backend.available()) {
    return;
  }
  auto store = backend.connect();
  store->migrate();
  auto alice = store->create_user("alice", "h", "Alice", 1);
  REQUIRE(alice.has_value());

  kill_store_connections(backend);
  // The first call finds the connection dead and fails; the next one reconnects.
  CHECK_THROWS_AS(store->get_user(alice->id), StoreError);
  auto again = store->get_user(alice->id);
  REQUIRE(again.has_value());
  CHECK(again->username == "alice");

  // A batch whose connection dies is not stored, and the store works afterwards.
  const ConvKey conv = ConvKey::direct(alice->id, alice->id);
  Message message;
  message.conv = conv;
  message.sender = alice->id;
  message.dst = alice->id;
  message.cid = "c1";
  kill_store_connections(backend);
  CHECK_THROWS_AS(store->insert_messages({message}), StoreError);
  auto inserted = store->insert_messages({message});
  REQUIRE(inserted.size() == 1);
  CHECK_FALSE(inserted[0].duplicate);
  CHECK(inserted[0].message.seq == 1);
}

TEST_CASE("mysql backs off while reconnecting fails") {
  MysqlBackend backend;
  if (!backend.available()) {
    return;
  }
  auto store = backend.connect();
  store->migrate();

  // Without its database the store cannot reconnect, as if the server were down.
  kill_store_connections(backend);
  backend.admin_execute("DROP DATABASE `" + backend.settings().database + "`");
  CHECK_THROWS_AS(store->get_user(1), StoreError);  // finds the connection dead
  CHECK_THROWS_WITH_AS(store->get_user(1), doctest::Contains("Unknown database"), StoreError);
  // Within the first 100 ms of backoff, calls fail without trying to connect.
  CHECK_THROWS_WITH_AS(store->get_user(1), doctest::Contains("next reconnect attempt"), StoreError);

  backend.admin_execute("CREATE DATABASE `" + backend.settings().database +
                        "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
  REQUIRE(mysql_select_db(backend.admin(), backend.settings().database.c_str()) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  store->migrate();
  CHECK(store->create_user("back", "h", "Back", 1).has_value());
}
