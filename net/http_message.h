#pragma once
// HTTP/1.1 request and response types shared by the parser, the WebSocket handshake and the
// API. Plain values: no thread affinity.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::net {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent (methods are case-sensitive)
  std::string target;  // the request target as sent, e.g. "/api/messages?conv=u:2"
  std::string path;    // target before '?', percent-decoded
  std::string query;   // raw text after '?', not decoded
  int version_minor = 1;  // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;

  // Returns the first header with this lower-case name, or nullopt.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  // Returns whether a comma-separated header (Connection, Upgrade) contains the token,
  // compared case-insensitively, across all headers of that name.
  bool header_has_token(std::string_view lower_name, std::string_view token) const;
  // Returns the percent-decoded value of a query parameter ('+' means space), or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
  // HTTP/1.1 keeps the connection open unless "Connection: close"; 1.0 needs "keep-alive".
  bool keep_alive() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added by serialize
  std::string body;

  // Serializes status line, headers, Content-Length and body into one buffer.
  std::string serialize(bool keep_alive) const;
};

// Returns the standard reason phrase for a status code ("OK", "Not Found", ...).
std::string_view reason_phrase(int status);

}  // namespace parley::net
