#pragma once
// multipart/form-data (RFC 7578) parsing for uploads: an incremental reader that takes the body
// in pieces of any size and keeps only a bounded amount of it, and a whole-body function built
// on it. No thread affinity: a MultipartReader is used by one thread at a time.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::net {

// One part of a multipart/form-data body. From parse_multipart, `data` points into the body
// passed to it, so that body must outlive the part. A MultipartReader leaves `data` empty and
// passes the content to MultipartVisitor::on_part_data instead.
struct MultipartPart {
  std::string name;      // the form field name (Content-Disposition parameter "name")
  std::string filename;  // the "filename" parameter as sent; empty for fields that are not files
  std::string content_type;  // the part's Content-Type; empty when absent (RFC 7578: text/plain)
  std::string_view data;     // the part's content, without the CRLF that precedes the delimiter
};

// Returns the boundary of a `multipart/form-data; boundary=...` Content-Type value, quoted or
// not. Returns nullopt for another media type, a malformed or repeated parameter, or a boundary
// that is not 1 to 70 characters of the set RFC 2046 allows.
std::optional<std::string> multipart_boundary(std::string_view content_type_header);

// Receives the parts a MultipartReader finds, in body order. The reader calls on_part_begin,
// then on_part_data zero or more times, then on_part_end, for each part.
class MultipartVisitor {
 public:
  virtual ~MultipartVisitor() = default;
  // Receives a part whose headers are complete; `part.data` is empty.
  virtual void on_part_begin(const MultipartPart& part) = 0;
  // Receives the next bytes of the current part's content, possibly none. `data` points into
  // the bytes passed to feed(), or into the reader for bytes held back from an earlier call
  // because they might have started a delimiter. It is valid only during the call.
  virtual void on_part_data(std::string_view data) = 0;
  // Marks the end of the current part's content.
  virtual void on_part_end() = 0;
};

// Parses a multipart/form-data body that arrives in pieces, with the grammar of
// parse_multipart. Memory stays bounded whatever the body size: the reader holds at most one
// part's header block (kMaxPartHeaderBytes) or one possible delimiter line (the boundary plus
// kMaxPaddingBytes), never content it has already passed to the visitor.
class MultipartReader {
 public:
  // Limit of one part's header lines, CRLFs included; a longer header block is malformed.
  static constexpr size_t kMaxPartHeaderBytes = 16 * 1024;
  // Limit of the spaces and tabs (transport padding, RFC 2046) after a boundary. A line with
  // more is not a delimiter, so its bytes count as content.
  static constexpr size_t kMaxPaddingBytes = 256;

  // `boundary` should come from multipart_boundary(). With an invalid one every feed() fails.
  explicit MultipartReader(std::string_view boundary);

  // Parses the next bytes of the body and reports what they complete to `visitor`. Returns
  // false once the body is known to be malformed; every later call then returns false without
  // calling the visitor. Bytes after the close delimiter (the epilogue) are ignored.
  [[nodiscard]] bool feed(std::string_view bytes, MultipartVisitor& visitor);
  // Ends the body. Returns true when the close delimiter was read; a close delimiter that ends
  // the body without its CRLF counts, and its part ends here. Returns false otherwise.
  [[nodiscard]] bool finish(MultipartVisitor& visitor);

  // Returns whether the close delimiter has been read.
  bool complete() const { return state_ == State::kEpilogue; }
  bool failed() const { return state_ == State::kFailed; }

 private:
  enum class State { kPreamble, kHeaders, kContent, kEpilogue, kFailed };
  // Where a possible delimiter line stands: inside "\r\n--boundary", or in the rest of the line.
  enum class Step { kDelimiter, kAfterBoundary, kSecondDash, kPadding, kLineFeed };
  enum class Advance { kMore, kReject, kNext, kClose };

  size_t scan_body(std::string_view input, size_t pos, MultipartVisitor& visitor);
  size_t read_headers(std::string_view input, size_t pos, MultipartVisitor& visitor);
  Advance advance(char c);
  void reset_candidate();
  void emit(std::string_view content, MultipartVisitor& visitor);
  void on_delimiter(Advance kind, MultipartVisitor& visitor);
  bool parse_header_line(std::string_view line);

  std::string delimiter_;  // "\r\n--" + boundary
  State state_ = State::kPreamble;

  // The possible delimiter being matched: `matched_` bytes of delimiter_, then the rest of
  // the line as `step_` says. Bytes of it that arrived in earlier feed() calls are kept in
  // `held_`, except the CRLF assumed before the first line of the body.
  size_t matched_ = 0;
  Step step_ = Step::kDelimiter;
  bool close_ = false;  // "--" followed the boundary
  size_t padding_ = 0;
  std::string held_;

  // The header block of the part being read.
  MultipartPart part_;
  std::string line_;  // the incomplete header line
  size_t header_bytes_ = 0;
  bool has_disposition_ = false;
};

// Splits a multipart/form-data body into `parts`, which is cleared first. The preamble and the
// epilogue are ignored. Every part needs a header block ending in an empty line and a
// `Content-Disposition: form-data; name=...` header. A boundary string inside the content counts
// as a delimiter only when the rest of its line matches the delimiter grammar, so binary data
// that merely contains "\r\n--boundary" followed by other bytes stays content. Returns false,
// with `parts` cleared, for malformed input: no delimiter, no closing delimiter, a part without
// the end of its headers or without a valid Content-Disposition, a header block over
// MultipartReader::kMaxPartHeaderBytes, or zero parts.
[[nodiscard]] bool parse_multipart(std::string_view body, std::string_view boundary,
                                   std::vector<MultipartPart>& parts);

}  // namespace parley::net
