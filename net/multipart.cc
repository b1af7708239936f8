#include "net/multipart.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "net/http_message.h"

namespace parley::net {
namespace {

constexpr size_t kMaxBoundaryLength = 70;  // RFC 2046 section 5.1.1

using Parameters = std::vector<std::pair<std::string, std::string>>;
using Searcher = std::boyer_moore_horspool_searcher<std::string_view::const_iterator>;

bool is_token_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

size_t count_token_chars(std::string_view text) {
  return std::find_if_not(text.begin(), text.end(), is_token_char) - text.begin();
}

std::string_view trim_leading_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  return text;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return lower;
}

// Characters a quoted-string may contain (qdtext and the escaped character of a quoted-pair,
// RFC 9110 section 5.6.4): tab, space, visible ASCII and obs-text.
bool is_quoted_text_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

// Reads a quoted-string from the start of `text` into `value`, unescaping quoted-pairs, and
// advances `text` past the closing quote.
bool take_quoted_string(std::string_view& text, std::string& value) {
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      text.remove_prefix(i + 1);
      return true;
    }
    if (c == '\\') {
      if (++i == text.size()) {
        return false;
      }
      c = text[i];
    }
    if (!is_quoted_text_char(c)) {
      return false;
    }
    value += c;
  }
  return false;
}

// Parses `*( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )` into lower-cased names and
// their values. Returns false on a syntax error or a repeated name.
bool parse_parameters(std::string_view text, Parameters& parameters) {
  while (true) {
    text = trim_leading_ows(text);
    if (text.empty()) {
      return true;
    }
    if (text.front() != ';') {
      return false;
    }
    text = trim_leading_ows(text.substr(1));
    if (text.empty() || text.front() == ';') {
      continue;
    }
    size_t name_length = count_token_chars(text);
    if (name_length == 0 || name_length == text.size() || text[name_length] != '=') {
      return false;
    }
    std::string name = to_lower(text.substr(0, name_length));
    text.remove_prefix(name_length + 1);
    std::string value;
    if (!text.empty() && text.front() == '"') {
      if (!take_quoted_string(text, value)) {
        return false;
      }
    } else {
      size_t value_length = count_token_chars(text);
      if (value_length == 0) {
        return false;
      }
      value.assign(text.substr(0, value_length));
      text.remove_prefix(value_length);
    }
    for (const auto& parameter : parameters) {
      if (parameter.first == name) {
        return false;
      }
    }
    parameters.emplace_back(std::move(name), std::move(value));
  }
}

// Splits a header value such as `form-data; name="file"` into its leading type and parameters.
bool split_type_and_parameters(std::string_view header, std::string_view& type,
                               Parameters& parameters) {
  header = trim_leading_ows(header);
  size_t type_end = std::min(header.find_first_of("; \t"), header.size());
  type = header.substr(0, type_end);
  return !type.empty() && parse_parameters(header.substr(type_end), parameters);
}

// bchars from RFC 2046 section 5.1.1; the last character must not be a space.
bool is_valid_boundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryLength || boundary.back() == ' ') {
    return false;
  }
  return std::all_of(boundary.begin(), boundary.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
  });
}

enum class DelimiterKind { kNone, kNext, kClose };

// Classifies the rest of the line after "--boundary" at `after` and sets `line_end` past it.
// "--" marks the close delimiter, which ends the body or is followed by padding and CRLF.
// Otherwise padding (spaces and tabs) and CRLF start the next part.
DelimiterKind classify_delimiter(std::string_view body, size_t after, size_t& line_end) {
  bool close = body.substr(after, 2) == "--";
  size_t pos = close ? after + 2 : after;
  while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) {
    ++pos;
  }
  if (close && pos == body.size()) {
    line_end = pos;
    return DelimiterKind::kClose;
  }
  if (body.substr(pos, 2) != "\r\n") {
    return DelimiterKind::kNone;
  }
  line_end = pos + 2;
  return close ? DelimiterKind::kClose : DelimiterKind::kNext;
}

struct Delimiter {
  DelimiterKind kind = DelimiterKind::kNone;
  size_t begin = 0;  // where the CRLF before "--boundary" starts
  size_t end = 0;    // past the delimiter line
};

// Finds the first "\r\n--boundary" at or after `from` that forms a valid delimiter line.
Delimiter find_delimiter(std::string_view body, size_t from, std::string_view delimiter,
                         const Searcher& searcher) {
  auto it = body.begin() + static_cast<std::ptrdiff_t>(from);
  while (true) {
    it = std::search(it, body.end(), searcher);
    if (it == body.end()) {
      return {};
    }
    size_t begin = static_cast<size_t>(it - body.begin());
    size_t line_end = 0;
    DelimiterKind kind = classify_delimiter(body, begin + delimiter.size(), line_end);
    if (kind != DelimiterKind::kNone) {
      return {kind, begin, line_end};
    }
    ++it;
  }
}

bool parse_content_disposition(std::string_view value, MultipartPart& part) {
  std::string_view type;
  Parameters parameters;
  if (!split_type_and_parameters(value, type, parameters) ||
      !detail::equals_ignore_case(type, "form-data")) {
    return false;
  }
  bool has_name = false;
  for (auto& [name, parameter_value] : parameters) {
    if (name == "name") {
      part.name = std::move(parameter_value);
      has_name = true;
    } else if (name == "filename") {
      part.filename = std::move(parameter_value);
    }
  }
  return has_name;
}

// Parses the header lines of a part starting at `pos`. Sets `content_begin` past the empty line
// that ends them.
bool parse_part_headers(std::string_view body, size_t pos, std::string_view dash_boundary,
                        MultipartPart& part, size_t& content_begin) {
  bool has_disposition = false;
  while (true) {
    size_t line_end = body.find("\r\n", pos);
    if (line_end == std::string_view::npos) {
      return false;
    }
    std::string_view line = body.substr(pos, line_end - pos);
    pos = line_end + 2;
    if (line.empty()) {
      break;
    }
    // A boundary may contain ':', so a delimiter line could otherwise pass as a header.
    if (line.starts_with(dash_boundary)) {
      return false;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || count_token_chars(line) != colon || colon == 0) {
      return false;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = detail::trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_quoted_text_char)) {
      return false;
    }
    if (detail::equals_ignore_case(name, "content-disposition")) {
      if (has_disposition || !parse_content_disposition(value, part)) {
        return false;
      }
      has_disposition = true;
    } else if (detail::equals_ignore_case(name, "content-type")) {
      part.content_type.assign(value);
    }
  }
  content_begin = pos;
  return has_disposition;
}

// Finds the first delimiter: "--boundary" at the very start, or "\r\n--boundary" after a
// preamble.
Delimiter find_first_delimiter(std::string_view body, std::string_view delimiter,
                               const Searcher& searcher) {
  std::string_view dash_boundary = delimiter.substr(2);
  if (body.starts_with(dash_boundary)) {
    size_t line_end = 0;
    DelimiterKind kind = classify_delimiter(body, dash_boundary.size(), line_end);
    if (kind != DelimiterKind::kNone) {
      return {kind, 0, line_end};
    }
  }
  return find_delimiter(body, 0, delimiter, searcher);
}

bool parse_parts(std::string_view body, std::string_view boundary,
                 std::vector<MultipartPart>& parts) {
  std::string delimiter = "\r\n--";
  delimiter += boundary;
  std::string_view pattern = delimiter;
  std::string_view dash_boundary = pattern.substr(2);
  Searcher searcher(pattern.begin(), pattern.end());

  Delimiter current = find_first_delimiter(body, delimiter, searcher);
  // RFC 2046 requires at least one part before the close delimiter.
  if (current.kind != DelimiterKind::kNext) {
    return false;
  }
  while (current.kind == DelimiterKind::kNext) {
    MultipartPart part;
    size_t content_begin = 0;
    if (!parse_part_headers(body, current.end, dash_boundary, part, content_begin)) {
      return false;
    }
    current = find_delimiter(body, content_begin, delimiter, searcher);
    if (current.kind == DelimiterKind::kNone) {
      return false;
    }
    part.data = body.substr(content_begin, current.begin - content_begin);
    parts.push_back(std::move(part));
  }
  return true;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type_header) {
  std::string_view type;
  Parameters parameters;
  if (!split_type_and_parameters(content_type_header, type, parameters) ||
      !detail::equals_ignore_case(type, "multipart/form-data")) {
    return std::nullopt;
  }
  for (auto& [name, value] : parameters) {
    if (name == "boundary" && is_valid_boundary(value)) {
      return std::move(value);
    }
  }
  return std::nullopt;
}

bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<MultipartPart>& parts) {
  parts.clear();
  if (!is_valid_boundary(boundary) || !parse_parts(body, boundary, parts)) {
    parts.clear();
    return false;
  }
  return true;
}

}  // namespace parley::net
