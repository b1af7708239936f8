// open_store: picks the backend from the scheme of a database URL.
//
// URL forms:
//   sqlite:PATH                                         a database file, created if missing
//   mysql://USER:PASSWORD@HOST:PORT/DATABASE            MySQL or MariaDB over TCP (port 3306
//                                                       when left out)
//   mysql://USER:PASSWORD@/DATABASE?socket=PATH         the same over a unix socket
// The MySQL password may instead come from PARLEY_DB_PASSWORD or from the file named by
// PARLEY_DB_PASSWORD_FILE; see store/mysql_url.h for the details.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "store/mysql_store.h"
#include "store/mysql_url.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace parley::store {
namespace {

constexpr std::string_view kExpectedForms =
    "expected sqlite:PATH or mysql://USER:PASSWORD@HOST:PORT/DATABASE";

// Opens "sqlite:PATH". `rest` is the URL after "sqlite:".
std::unique_ptr<Store> open_sqlite(std::string_view rest) {
  if (rest.empty()) {
    throw StoreError("invalid database URL 'sqlite:': the path is missing (" +
                     std::string(kExpectedForms) + ")");
  }
  const std::filesystem::path path{std::string(rest)};
  const std::filesystem::path parent = path.parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      throw StoreError("cannot create the database directory " + parent.string() + ": " +
                       error.message());
    }
  }
  return std::make_unique<SqliteStore>(path.string());
}

// Opens "mysql://...". `rest` is the URL after "mysql:". The parser's errors never quote the
// password.
std::unique_ptr<Store> open_mysql(std::string_view rest) {
  return std::make_unique<MysqlStore>(parse_mysql_url(rest));
}

struct Backend {
  std::string_view scheme;
  std::unique_ptr<Store> (*open)(std::string_view rest);
};

// A new backend adds its scheme here. Its opener receives the URL after "scheme:" and must keep
// any password in it out of error messages.
constexpr Backend kBackends[] = {
    {"sqlite", &open_sqlite},
    {"mysql", &open_mysql},
};

// A URL scheme as RFC 3986 defines it: a letter, then letters, digits, '+', '-' or '.'.
bool is_scheme(std::string_view text) {
  if (text.empty() || std::isalpha(static_cast<unsigned char>(text[0])) == 0) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

std::unique_ptr<Store> open_store(std::string_view url) {
  // Error messages quote the scheme at most, never the rest of the URL, which may hold a
  // password.
  const size_t colon = url.find(':');
  const std::string_view scheme = colon == std::string_view::npos ? "" : url.substr(0, colon);
  if (!is_scheme(scheme)) {
    throw StoreError("invalid database URL: it does not start with a scheme such as 'sqlite:' (" +
                     std::string(kExpectedForms) + ")");
  }
  // Schemes are case-insensitive (RFC 3986, section 3.1).
  std::string lower_scheme(scheme);
  std::transform(lower_scheme.begin(), lower_scheme.end(), lower_scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Backend& backend : kBackends) {
    if (lower_scheme == backend.scheme) {
      return backend.open(url.substr(colon + 1));
    }
  }
  throw StoreError("unsupported database URL scheme '" + std::string(scheme) + "' (" +
                   std::string(kExpectedForms) + ")");
}

}  // namespace parley::store
