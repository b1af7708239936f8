#include "net/http_parser.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace parley::net {
namespace {

constexpr int kBadRequest = 400;
constexpr int kContentTooLarge = 413;
constexpr int kHeaderFieldsTooLarge = 431;
constexpr int kNotImplemented = 501;
constexpr int kVersionNotSupported = 505;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// tchar from RFC 9110 section 5.6.2: the characters of methods and header names.
bool is_token_char(char c) {
  return is_digit(c) || is_alpha(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

// field-value characters from RFC 9110 section 5.5: visible ASCII, space, tab and obs-text.
// Control characters, including CR, NUL and DEL, are invalid.
bool is_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
  });
}

// Host values: uri-host and optional port from RFC 3986 (reg-name, IPv4 or a bracketed IP
// literal), checked by character set only.
bool is_host_value(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return is_digit(c) || is_alpha(c) ||
           std::string_view("-._~!$&'()*+,;=:[]%").find(c) != std::string_view::npos;
  });
}

struct RequestLine {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;
};

// Returns 0 for "HTTP/1.0" and "HTTP/1.1", 505 for another well-formed version, 400 otherwise.
int check_version(std::string_view version, int& minor) {
  if (version.size() != 8 || !version.starts_with("HTTP/") || !is_digit(version[5]) ||
      version[6] != '.' || !is_digit(version[7])) {
    return kBadRequest;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return kVersionNotSupported;
  }
  minor = version[7] - '0';
  return 0;
}

// Accepts origin-form targets: '/' followed by visible ASCII other than '#'. RFC 3986 also
// excludes characters such as '|' and '{', but browsers send those unescaped in queries. The
// path must decode cleanly and must not contain NUL, so that file lookups can trust it.
bool is_valid_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return false;
  }
  for (char c : target) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '#') {
      return false;
    }
  }
  std::string_view path = target.substr(0, target.find('?'));
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      continue;
    }
    if (i + 2 >= path.size() || !is_hex_digit(path[i + 1]) || !is_hex_digit(path[i + 2]) ||
        (path[i + 1] == '0' && path[i + 2] == '0')) {
      return false;
    }
    i += 2;
  }
  return true;
}

// Parses `method SP request-target SP HTTP-version`. Returns 0 or the error status.
int parse_request_line(std::string_view line, RequestLine& out) {
  size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) {
    return kBadRequest;
  }
  size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) {
    return kBadRequest;
  }
  out.method = line.substr(0, first_space);
  out.target = line.substr(first_space + 1, second_space - first_space - 1);
  if (!is_token(out.method) || !is_valid_target(out.target)) {
    return kBadRequest;
  }
  return check_version(line.substr(second_space + 1), out.version_minor);
}

// Splits `name: value` and trims the value. Returns false for obs-fold (a line starting with
// whitespace), a missing colon, a non-token name (which includes whitespace before the colon)
// and control characters in the value.
bool split_field_line(std::string_view line, std::string_view& name, std::string_view& value) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  name = line.substr(0, colon);
  value = detail::trim_ows(line.substr(colon + 1));
  return is_token(name) && is_field_value(value);
}

// What the header lines say about message framing, collected while they are checked.
struct Framing {
  int host_count = 0;
  std::optional<size_t> content_length;
};

// Parses a Content-Length value, saturating at limit + 1 (at SIZE_MAX for a limit of SIZE_MAX)
// so that huge values cannot overflow.
std::optional<size_t> parse_content_length(std::string_view value, size_t limit) {
  if (value.empty()) {
    return std::nullopt;
  }
  const size_t cap = limit == SIZE_MAX ? limit : limit + 1;
  size_t length = 0;
  for (char c : value) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    auto digit = static_cast<size_t>(c - '0');
    length = length > (cap - digit) / 10 ? cap : length * 10 + digit;
  }
  return length;
}

// Checks one header line and records its framing headers. Returns 0 or the error status.
int check_header_line(std::string_view line, const HttpLimits& limits, Framing& framing) {
  std::string_view name;
  std::string_view value;
  if (!split_field_line(line, name, value)) {
    return kBadRequest;
  }
  if (detail::equals_ignore_case(name, "transfer-encoding")) {
    return kNotImplemented;
  }
  if (detail::equals_ignore_case(name, "host")) {
    ++framing.host_count;
    return is_host_value(value) ? 0 : kBadRequest;
  }
  if (detail::equals_ignore_case(name, "content-length")) {
    std::optional<size_t> length = parse_content_length(value, limits.max_body_bytes);
    if (!length || (framing.content_length && *framing.content_length != *length)) {
      return kBadRequest;
    }
    framing.content_length = length;
    return *length > limits.max_body_bytes ? kContentTooLarge : 0;
  }
  return 0;
}

// The checked header block: input[start, end) holds the request line, the header lines and the
// empty line that ends them. Bytes before `start` are skipped empty lines.
struct HeaderBlock {
  size_t start = 0;
  size_t end = 0;
  RequestLine request_line;
  Framing framing;
};

ParseResult fail(int status) {
  return {ParseStatus::kError, 0, status};
}

// Finds and checks the header block line by line, so that an invalid line is rejected as soon
// as it is complete. kComplete means that the block was found and every line in it is valid.
ParseResult scan_header_block(std::string_view input, const HttpLimits& limits,
                              HeaderBlock& block) {
  size_t pos = 0;
  while (input.substr(pos, 2) == "\r\n") {
    pos += 2;
  }
  block.start = pos;
  // Only a line feed before max_header_bytes can end a header block that fits the limit.
  std::string_view searchable = input.substr(0, std::min(input.size(), limits.max_header_bytes));
  while (true) {
    size_t line_feed =
        pos < searchable.size() ? searchable.find('\n', pos) : std::string_view::npos;
    if (line_feed == std::string_view::npos) {
      if (input.size() >= limits.max_header_bytes) {
        return fail(kHeaderFieldsTooLarge);
      }
      return {ParseStatus::kNeedMore, 0, 0};
    }
    if (line_feed == pos || input[line_feed - 1] != '\r') {
      return fail(kBadRequest);
    }
    std::string_view line = input.substr(pos, line_feed - 1 - pos);
    int error = 0;
    if (pos == block.start) {
      error = parse_request_line(line, block.request_line);
    } else if (line.empty()) {
      block.end = line_feed + 1;
      return {ParseStatus::kComplete, block.end, 0};
    } else {
      error = check_header_line(line, limits, block.framing);
    }
    if (error != 0) {
      return fail(error);
    }
    pos = line_feed + 1;
  }
}

// Copies a checked header block and its body into `request`.
void fill_request(std::string_view input, const HeaderBlock& block, size_t body_size,
                  HttpRequest& request) {
  const RequestLine& line = block.request_line;
  request.method.assign(line.method);
  request.target.assign(line.target);
  size_t question_mark = line.target.find('?');
  // is_valid_target has checked every escape in the path, so decoding cannot fail.
  (void)detail::percent_decode(line.target.substr(0, question_mark), false, request.path);
  if (question_mark == std::string_view::npos) {
    request.query.clear();
  } else {
    request.query.assign(line.target.substr(question_mark + 1));
  }
  request.version_minor = line.version_minor;

  request.headers.clear();
  size_t pos = input.find("\r\n", block.start) + 2;
  while (pos + 2 < block.end) {
    size_t line_end = input.find("\r\n", pos);
    std::string_view name;
    std::string_view value;
    (void)split_field_line(input.substr(pos, line_end - pos), name, value);
    std::string lower_name(name);
    std::transform(lower_name.begin(), lower_name.end(), lower_name.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    request.headers.emplace_back(std::move(lower_name), std::string(value));
    pos = line_end + 2;
  }
  request.body.assign(input.substr(block.end, body_size));
}

// Scans and checks the header block, then the Host rule that needs all of it.
ParseResult scan_head(std::string_view input, const HttpLimits& limits, HeaderBlock& block) {
  ParseResult scanned = scan_header_block(input, limits, block);
  if (scanned.status != ParseStatus::kComplete) {
    return scanned;
  }
  // RFC 9112 section 3.2: Host is required in HTTP/1.1 and must never appear twice.
  int host_count = block.framing.host_count;
  if (host_count > 1 || (host_count == 0 && block.request_line.version_minor == 1)) {
    return fail(kBadRequest);
  }
  return scanned;
}

}  // namespace

ParseResult parse_http_request(std::string_view input, const HttpLimits& limits,
                               HttpRequest& request) {
  HeaderBlock block;
  ParseResult scanned = scan_head(input, limits, block);
  if (scanned.status != ParseStatus::kComplete) {
    return scanned;
  }
  size_t body_size = block.framing.content_length.value_or(0);
  if (input.size() - block.end < body_size) {
    return {ParseStatus::kNeedMore, 0, 0};
  }
  fill_request(input, block, body_size, request);
  return {ParseStatus::kComplete, block.end + body_size, 0};
}

ParseResult parse_http_head(std::string_view input, size_t max_header_bytes, HttpRequest& request,
                            size_t& body_length) {
  HttpLimits limits{.max_header_bytes = max_header_bytes, .max_body_bytes = SIZE_MAX};
  HeaderBlock block;
  ParseResult scanned = scan_head(input, limits, block);
  if (scanned.status != ParseStatus::kComplete) {
    return scanned;
  }
  fill_request(input, block, 0, request);
  body_length = block.framing.content_length.value_or(0);
  return scanned;
}

}  // namespace parley::net
