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
  // Target before '?', percent-decoded. Dot segments are not resolved and "%2F" becomes '/', so
  // code that maps the path to files must reject ".." segments itself.
  std::string path;
  std::string query;      // raw text after '?', not decoded
  int version_minor = 1;  // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;

  // Returns the first header with this lower-case name, or nullopt.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  // Returns whether a comma-separated header (Connection, Upgrade) contains the token,
  // compared case-insensitively, across all headers of that name.
  bool header_has_token(std::string_view lower_name, std::string_view token) const;
  // Returns the percent-decoded value of the first query parameter with this decoded name ('+'
  // means space), or nullopt. A parameter without '=' has an empty value. When that first
  // parameter's value contains an invalid percent escape, the parameter counts as absent.
  std::optional<std::string> query_param(std::string_view name) const;
  // HTTP/1.1 keeps the connection open unless "Connection: close"; 1.0 needs "keep-alive".
  bool keep_alive() const;
};

struct HttpResponse {
  int status = 200;
  // Headers to send as given, except that CR, LF and NUL in values are replaced by spaces so that
  // a value cannot start a new header line. Callers must not set Content-Length.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Serializes status line, headers, Content-Length and body into one buffer. Adds
  // "Connection: keep-alive" or "Connection: close" unless `headers` has a Connection header
  // (a 101 response sets "Connection: Upgrade"). Responses with status 1xx, 204 and 304 get
  // neither Content-Length nor body, because RFC 9110 forbids content in them.
  std::string serialize(bool keep_alive) const;
  // Serializes the status line and headers as serialize() does, with `content_length` as the
  // Content-Length and without `body`: the head of a response to HEAD, or of a body that the
  // caller sends itself in pieces.
  std::string serialize_head(bool keep_alive, size_t content_length) const;
};

// Returns the standard reason phrase for a status code ("OK", "Not Found", ...), or an empty
// string for codes it does not list, which the status line allows.
std::string_view reason_phrase(int status);

namespace detail {

// Returns whether a and b are equal when ASCII letters are compared case-insensitively.
bool equals_ignore_case(std::string_view a, std::string_view b);
// Returns `text` without leading and trailing spaces and tabs (the OWS of RFC 9110).
std::string_view trim_ows(std::string_view text);
// Decodes %XX escapes into `out`, and '+' into a space when `plus_as_space`. Returns false on
// a '%' that is not followed by two hex digits, and `out` is then unspecified.
[[nodiscard]] bool percent_decode(std::string_view text, bool plus_as_space, std::string& out);

}  // namespace detail

}  // namespace parley::net
