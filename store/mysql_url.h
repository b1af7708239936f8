#pragma once
// Parsing of "mysql:" database URLs into connection settings. Used by open_store and tests.
//
// Forms (the part after "mysql:"):
//   //USER[:PASSWORD]@HOST[:PORT]/DATABASE             TCP, port 3306 by default
//   //USER[:PASSWORD]@[HOST]/DATABASE?socket=PATH      unix socket PATH; HOST is ignored
// USER, PASSWORD, DATABASE and PATH are percent-decoded, and an '@' in the password must be
// written as %40. An IPv6 host goes in brackets: [::1]:3306. When the URL has no password, the password comes from the
// environment variable PARLEY_DB_PASSWORD, or else from the first line of the file named by
// PARLEY_DB_PASSWORD_FILE, or else it is empty.

#include <string>
#include <string_view>

namespace parley::store {

struct MysqlSettings {
  std::string user;
  std::string password;
  std::string host;  // empty with a socket
  unsigned port = 3306;
  std::string socket;  // unix socket path; empty for TCP
  std::string database;

  // "user@host:port/database" or "user@unix(path)/database", for messages. Never contains the
  // password.
  [[nodiscard]] std::string describe() const;
};

// Parses `rest`, the URL after "mysql:". Throws StoreError naming what is wrong but never
// quoting the password. Reads the password from the environment or the password file when the
// URL has none.
MysqlSettings parse_mysql_url(std::string_view rest);

}  // namespace parley::store
