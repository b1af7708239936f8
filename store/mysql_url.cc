#include "store/mysql_url.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <string>

#include "net/http_message.h"
#include "store/store.h"

namespace parley::store {
namespace {

constexpr std::string_view kForms =
    "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE or "
    "mysql://USER:PASSWORD@/DATABASE?socket=PATH";

[[noreturn]] void invalid(const std::string& what) {
  throw StoreError("invalid database URL: " + what + " (" + std::string(kForms) + ")");
}

// Decodes %XX escapes (RFC 3986, section 2.1). `component` names the part in the error, which
// never quotes the text, because the text may be a password.
std::string percent_decode(std::string_view text, const char* component) {
  std::string decoded;
  if (!net::detail::percent_decode(text, /*plus_as_space=*/false, decoded)) {
    invalid(std::string("the ") + component +
            " has a '%' that is not followed by two hex digits (write '%' as %25)");
  }
  return decoded;
}

// Reads the password from PARLEY_DB_PASSWORD or from the file PARLEY_DB_PASSWORD_FILE names.
std::string password_from_environment() {
  if (const char* password = std::getenv("PARLEY_DB_PASSWORD")) {
    return password;
  }
  const char* path = std::getenv("PARLEY_DB_PASSWORD_FILE");
  if (path == nullptr || *path == '\0') {
    return {};
  }
  std::ifstream file(path);
  if (!file) {
    throw StoreError(std::string("cannot read the database password file ") + path +
                     " named by PARLEY_DB_PASSWORD_FILE");
  }
  // Only the first line counts, so that the newline an editor adds is not part of the password.
  std::string password;
  std::getline(file, password);
  if (!password.empty() && password.back() == '\r') {
    password.pop_back();
  }
  return password;
}

void parse_host_port(std::string_view text, MysqlSettings& settings) {
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      invalid("the IPv6 host has no closing ']'");
    }
    settings.host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        invalid("unexpected text after the IPv6 host");
      }
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = text.find(':');
    settings.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
    }
  }
  if (port_text.empty()) {
    return;
  }
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    invalid("the port '" + std::string(port_text) + "' is not a number from 1 to 65535");
  }
  settings.port = port;
}

void parse_query(std::string_view query, MysqlSettings& settings) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (key != "socket") {
      invalid("unknown parameter '" + std::string(key) + "'; the only parameter is socket=PATH");
    }
    settings.socket = percent_decode(value, "socket path");
    if (settings.socket.empty()) {
      invalid("socket= needs the path of the server's unix socket");
    }
  }
}

}  // namespace

std::string MysqlSettings::describe() const {
  std::string text = user + "@";
  if (!socket.empty()) {
    text += "unix(" + socket + ")";
  } else if (host.find(':') != std::string::npos) {
    text += "[" + host + "]:" + std::to_string(port);
  } else {
    text += host + ":" + std::to_string(port);
  }
  return text + "/" + database;
}

MysqlSettings parse_mysql_url(std::string_view rest) {
  if (rest.substr(0, 2) != "//") {
    invalid("'mysql:' must be followed by '//'");
  }
  rest.remove_prefix(2);

  MysqlSettings settings;
  bool has_password = false;
  // The first '@' ends the user and password, as RFC 3986 reads a URL and as parleyd's log
  // redaction finds the password. A password may contain '/' and '?' but must write '@' as %40.
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    settings.user = percent_decode(userinfo.substr(0, colon), "user");
    if (colon != std::string_view::npos) {
      settings.password = percent_decode(userinfo.substr(colon + 1), "password");
      has_password = true;
    }
    rest.remove_prefix(at + 1);
  }

  if (rest.find('@') != std::string_view::npos) {
    invalid("the host or database contains '@'; write an '@' in the password as %40");
  }
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    parse_query(rest.substr(question + 1), settings);
    rest = rest.substr(0, question);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    invalid("the database name is missing");
  }
  settings.database = percent_decode(rest.substr(slash + 1), "database name");
  if (settings.database.empty()) {
    invalid("the database name is missing");
  }
  if (settings.database.find('/') != std::string::npos) {
    invalid("the database name contains '/'");
  }
  if (settings.socket.empty()) {
    parse_host_port(rest.substr(0, slash), settings);
    if (settings.host.empty()) {
      invalid("the host is missing");
    }
  } else {
    settings.host.clear();
  }
  if (!has_password) {
    settings.password = password_from_environment();
  }
  return settings;
}

}  // namespace parley::store
