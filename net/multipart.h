#pragma once
// multipart/form-data (RFC 7578) parsing for uploads. Pure functions with no thread affinity.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::net {

// One part of a multipart/form-data body. `data` points into the body passed to
// parse_multipart, so that body must outlive the part.
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

// Splits a multipart/form-data body into `parts`, which is cleared first. The preamble and the
// epilogue are ignored. Every part needs a header block ending in an empty line and a
// `Content-Disposition: form-data; name=...` header. A boundary string inside the content counts
// as a delimiter only when the rest of its line matches the delimiter grammar, so binary data
// that merely contains "\r\n--boundary" followed by other bytes stays content. Returns false,
// with `parts` cleared, for malformed input: no delimiter, no closing delimiter, a part without
// the end of its headers or without a valid Content-Disposition, or zero parts.
[[nodiscard]] bool parse_multipart(std::string_view body, std::string_view boundary,
                                   std::vector<MultipartPart>& parts);

}  // namespace parley::net
