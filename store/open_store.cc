// open_store: picks the backend from the scheme of a database URL.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "store/sqlite_store.h"
#include "store/store.h"

namespace parley::store {
namespace {

constexpr std::string_view kExpectedForms = "expected sqlite:PATH";

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

struct Backend {
  std::string_view scheme;
  std::unique_ptr<Store> (*open)(std::string_view rest);
};

// A new backend (MySQL, for one) adds its scheme here. Its opener receives the URL after
// "scheme:" and must keep any password in it out of error messages.
constexpr Backend kBackends[] = {
    {"sqlite", &open_sqlite},
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
