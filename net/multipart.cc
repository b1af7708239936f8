#include "net/multipart.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "net/http_message.h"

namespace parley::net {
namespace {

constexpr size_t kMaxBoundaryLength = 70;  // RFC 2046 section 5.1.1

using Parameters = std::vector<std::pair<std::string, std::string>>;

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

MultipartReader::MultipartReader(std::string_view boundary) : delimiter_("\r\n--") {
  delimiter_ += boundary;
  if (!is_valid_boundary(boundary)) {
    state_ = State::kFailed;
    return;
  }
  // The body may open with "--boundary" and no CRLF before it, so the first line starts out as
  // a delimiter whose CRLF has already matched.
  matched_ = 2;
}

bool MultipartReader::feed(std::string_view bytes, MultipartVisitor& visitor) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    switch (state_) {
      case State::kPreamble:
      case State::kContent:
        pos = scan_body(bytes, pos, visitor);
        break;
      case State::kHeaders:
        pos = read_headers(bytes, pos, visitor);
        break;
      case State::kEpilogue:
        return true;
      case State::kFailed:
        return false;
    }
  }
  return state_ != State::kFailed;
}

bool MultipartReader::finish(MultipartVisitor& visitor) {
  // "--boundary--" and padding at the very end of the body close it without a CRLF.
  if (state_ == State::kContent && close_ && step_ == Step::kPadding) {
    held_.clear();
    reset_candidate();
    visitor.on_part_end();
    state_ = State::kEpilogue;
  }
  if (state_ != State::kEpilogue) {
    state_ = State::kFailed;
    return false;
  }
  return true;
}

// Scans preamble or content from input[pos] for the next delimiter line. Content is passed to
// the visitor as views into `input` wherever possible: bytes are held back only while they
// might start a delimiter that the next feed() call completes. Returns the position after the
// delimiter line, or input.size().
size_t MultipartReader::scan_body(std::string_view input, size_t pos, MultipartVisitor& visitor) {
  constexpr size_t kHeld = std::string_view::npos;  // the candidate began in an earlier call
  const size_t content_begin = pos;
  size_t candidate_begin = matched_ > 0 ? kHeld : pos;
  while (pos < input.size()) {
    if (matched_ == 0) {
      // Only a CR can start a delimiter, so content up to the next one needs no closer look.
      const void* cr = std::memchr(input.data() + pos, '\r', input.size() - pos);
      if (cr == nullptr) {
        pos = input.size();
        break;
      }
      pos = static_cast<size_t>(static_cast<const char*>(cr) - input.data());
      candidate_begin = pos;
      matched_ = 1;
      ++pos;
      continue;
    }
    Advance result = advance(input[pos]);
    if (result == Advance::kMore) {
      ++pos;
      continue;
    }
    if (result == Advance::kReject) {
      // The candidate's bytes are content after all. The byte that broke it is examined
      // again, because it may be the CR of the next candidate. No other byte of a rejected
      // candidate can start one: boundaries contain no CR, and a CR at the end of the line
      // was followed by this byte, which is not LF.
      if (candidate_begin == kHeld) {
        emit(held_, visitor);
        held_.clear();
      }
      reset_candidate();
      continue;
    }
    ++pos;  // past the LF that ends the delimiter line
    if (candidate_begin != kHeld) {
      emit(input.substr(content_begin, candidate_begin - content_begin), visitor);
    }
    held_.clear();
    reset_candidate();
    on_delimiter(result, visitor);
    return pos;
  }
  if (matched_ == 0) {
    emit(input.substr(content_begin), visitor);
  } else if (candidate_begin == kHeld) {
    held_.append(input.substr(content_begin));
  } else {
    emit(input.substr(content_begin, candidate_begin - content_begin), visitor);
    held_.assign(input.substr(candidate_begin));
  }
  return input.size();
}

// Matches one more byte of a possible delimiter line against the grammar of RFC 2046 section
// 5.1.1: "\r\n--boundary", "--" for the close delimiter, transport padding, CRLF.
MultipartReader::Advance MultipartReader::advance(char c) {
  switch (step_) {
    case Step::kDelimiter:
      if (c != delimiter_[matched_]) {
        return Advance::kReject;
      }
      if (++matched_ == delimiter_.size()) {
        step_ = Step::kAfterBoundary;
      }
      return Advance::kMore;
    case Step::kAfterBoundary:
      if (c == '-') {
        step_ = Step::kSecondDash;
        return Advance::kMore;
      }
      step_ = Step::kPadding;
      return advance(c);
    case Step::kSecondDash:
      if (c != '-') {
        return Advance::kReject;
      }
      close_ = true;
      step_ = Step::kPadding;
      return Advance::kMore;
    case Step::kPadding:
      if (c == ' ' || c == '\t') {
        return ++padding_ <= kMaxPaddingBytes ? Advance::kMore : Advance::kReject;
      }
      if (c != '\r') {
        return Advance::kReject;
      }
      step_ = Step::kLineFeed;
      return Advance::kMore;
    case Step::kLineFeed:
      if (c != '\n') {
        return Advance::kReject;
      }
      return close_ ? Advance::kClose : Advance::kNext;
  }
  return Advance::kReject;
}

void MultipartReader::reset_candidate() {
  matched_ = 0;
  step_ = Step::kDelimiter;
  close_ = false;
  padding_ = 0;
}

void MultipartReader::emit(std::string_view content, MultipartVisitor& visitor) {
  if (state_ == State::kContent) {
    visitor.on_part_data(content);
  }
}

void MultipartReader::on_delimiter(Advance kind, MultipartVisitor& visitor) {
  if (state_ == State::kContent) {
    visitor.on_part_end();
  } else if (kind == Advance::kClose) {
    state_ = State::kFailed;  // RFC 2046 requires at least one part before the close delimiter
    return;
  }
  if (kind == Advance::kClose) {
    state_ = State::kEpilogue;
    return;
  }
  state_ = State::kHeaders;
  part_ = MultipartPart();
  line_.clear();
  header_bytes_ = 0;
  has_disposition_ = false;
}

// Reads header lines from input[pos] until the empty line that ends them. Returns the position
// after the bytes it used.
size_t MultipartReader::read_headers(std::string_view input, size_t pos,
                                     MultipartVisitor& visitor) {
  while (pos < input.size()) {
    size_t line_feed = input.find('\n', pos);
    size_t end = line_feed == std::string_view::npos ? input.size() : line_feed + 1;
    header_bytes_ += end - pos;
    if (header_bytes_ > kMaxPartHeaderBytes) {
      state_ = State::kFailed;
      return input.size();
    }
    line_.append(input.substr(pos, end - pos));
    pos = end;
    if (line_feed == std::string_view::npos) {
      break;
    }
    // Lines end in CRLF. A bare LF ends nothing and makes the line invalid.
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
      state_ = State::kFailed;
      return input.size();
    }
    std::string_view line(line_.data(), line_.size() - 2);
    if (line.empty()) {
      if (!has_disposition_) {
        state_ = State::kFailed;
        return input.size();
      }
      line_.clear();
      state_ = State::kContent;
      visitor.on_part_begin(part_);
      return pos;
    }
    if (!parse_header_line(line)) {
      state_ = State::kFailed;
      return input.size();
    }
    line_.clear();
  }
  return pos;
}

bool MultipartReader::parse_header_line(std::string_view line) {
  // A boundary may contain ':', so a delimiter line could otherwise pass as a header.
  if (line.starts_with(std::string_view(delimiter_).substr(2))) {
    return false;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || count_token_chars(line) != colon) {
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = detail::trim_ows(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), is_quoted_text_char)) {
    return false;
  }
  if (detail::equals_ignore_case(name, "content-disposition")) {
    if (has_disposition_ || !parse_content_disposition(value, part_)) {
      return false;
    }
    has_disposition_ = true;
  } else if (detail::equals_ignore_case(name, "content-type")) {
    part_.content_type.assign(value);
  }
  return true;
}

namespace {

// Collects the parts of a body passed whole to one feed() call. The reader then passes each
// part's content as one view into that body, so a part can point into the body.
class PartCollector final : public MultipartVisitor {
 public:
  explicit PartCollector(std::vector<MultipartPart>& parts) : parts_(parts) {}

  void on_part_begin(const MultipartPart& part) override {
    parts_.push_back(part);
    has_data_ = false;
  }
  void on_part_data(std::string_view data) override {
    std::string_view& current = parts_.back().data;
    if (!has_data_) {
      current = data;
      has_data_ = true;
    } else if (data.data() == current.data() + current.size()) {
      current = std::string_view(current.data(), current.size() + data.size());
    } else {
      contiguous_ = false;  // only bytes held between feed() calls could cause this
    }
  }
  void on_part_end() override {}

  bool contiguous() const { return contiguous_; }

 private:
  std::vector<MultipartPart>& parts_;
  bool has_data_ = false;
  bool contiguous_ = true;
};

}  // namespace

bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<MultipartPart>& parts) {
  parts.clear();
  MultipartReader reader(boundary);
  PartCollector collector(parts);
  if (!reader.feed(body, collector) || !reader.finish(collector) || !collector.contiguous()) {
    parts.clear();
    return false;
  }
  return true;
}

}  // namespace parley::net
