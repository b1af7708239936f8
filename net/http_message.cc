#include "net/http_message.h"

#include <string>

namespace parley::net {
namespace {

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void append_header_value(std::string& out, std::string_view value) {
  for (char c : value) {
    out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
  }
}

}  // namespace

namespace detail {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool percent_decode(std::string_view text, bool plus_as_space, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return false;
      }
      int high = hex_digit_value(text[i + 1]);
      int low = hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return false;
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

}  // namespace detail

std::optional<std::string_view> HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

bool HttpRequest::header_has_token(std::string_view lower_name, std::string_view token) const {
  if (token.empty()) {
    return false;
  }
  for (const auto& [name, value] : headers) {
    if (name != lower_name) {
      continue;
    }
    std::string_view rest = value;
    while (true) {
      size_t comma = rest.find(',');
      if (detail::equals_ignore_case(detail::trim_ows(rest.substr(0, comma)), token)) {
        return true;
      }
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  std::string_view rest = query;
  std::string decoded_name;
  while (!rest.empty()) {
    size_t ampersand = rest.find('&');
    std::string_view pair = rest.substr(0, ampersand);
    rest = ampersand == std::string_view::npos ? std::string_view() : rest.substr(ampersand + 1);

    size_t equals = pair.find('=');
    std::string_view raw_name = pair.substr(0, equals);
    if (!detail::percent_decode(raw_name, true, decoded_name) || decoded_name != name) {
      continue;
    }
    std::string value;
    if (equals == std::string_view::npos) {
      return value;
    }
    if (!detail::percent_decode(pair.substr(equals + 1), true, value)) {
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

bool HttpRequest::keep_alive() const {
  if (header_has_token("connection", "close")) {
    return false;
  }
  return version_minor >= 1 || header_has_token("connection", "keep-alive");
}

std::string HttpResponse::serialize(bool keep_alive) const {
  bool has_content = status >= 200 && status != 204 && status != 304;
  std::string out = serialize_head(keep_alive, body.size());
  if (has_content) {
    out += body;
  }
  return out;
}

std::string HttpResponse::serialize_head(bool keep_alive, size_t content_length) const {
  bool has_content = status >= 200 && status != 204 && status != 304;
  std::string out;
  out.reserve(128 + (has_content ? body.size() : 0));
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";

  bool has_connection = false;
  for (const auto& [name, value] : headers) {
    has_connection = has_connection || detail::equals_ignore_case(name, "connection");
    out += name;
    out += ": ";
    append_header_value(out, value);
    out += "\r\n";
  }
  if (has_content) {
    out += "Content-Length: ";
    out += std::to_string(content_length);
    out += "\r\n";
  }
  if (!has_connection) {
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  }
  out += "\r\n";
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace parley::net
