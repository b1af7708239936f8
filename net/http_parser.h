#pragma once
// Incremental HTTP/1.1 request parser. Pure: no I/O, no allocation beyond the request it fills.
// One parser per connection, used only by the connection's loop thread.

#include <cstddef>
#include <string_view>

#include "net/http_message.h"

namespace parley::net {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;       // request line plus all headers
  size_t max_body_bytes = 11 * 1024 * 1024;  // Content-Length above this is rejected with 413
};

enum class ParseStatus {
  kComplete,  // `request` is filled; `consumed` bytes of the input belong to it
  kNeedMore,  // no complete request yet; call again with more bytes (same start)
  kError,     // malformed or over a limit; `error_status` is the HTTP status to answer with
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  int error_status = 0;  // 400, 413, 431, 501, 505 with kError
};

// Parses one request from the start of `input` and writes it to `request`, which is left
// untouched unless the result is kComplete. Returns kNeedMore until the header block and the
// whole Content-Length body are present; with pipelined requests `consumed` covers only the
// first one. Each call parses the input again from its start, so a caller that appends a few
// bytes at a time pays for rescanning the header block, at most max_header_bytes per call.
//
// The parser follows RFC 9112 strictly and rejects requests with:
// - 400 for a malformed request line or header line, a line ending in a bare LF (CRLF is
//   required), obs-fold, whitespace before a header colon, a request target that is not in
//   origin-form ("/path?query") or whose path has an invalid escape or "%00", an invalid or
//   conflicting Content-Length, and a missing (HTTP/1.1) or repeated Host header;
// - 413 when Content-Length exceeds max_body_bytes, before the body arrives;
// - 431 when the header block exceeds max_header_bytes, even while it is still incomplete;
// - 501 for any Transfer-Encoding, since no client of ours sends chunked request bodies;
// - 505 for versions other than HTTP/1.0 and HTTP/1.1.
// Line-level errors are reported as soon as the offending line is complete. Empty lines before
// the request line are skipped (RFC 9112 section 2.2) and count toward `consumed`.
ParseResult parse_http_request(std::string_view input, const HttpLimits& limits,
                               HttpRequest& request);

// Parses only the request line and headers from the start of `input`, with every check of
// parse_http_request except the body limit. The caller then chooses a limit per request and
// reads the body itself, for example streamed to a file. On kComplete, `consumed` covers the
// header block and any empty lines before it, and `request.body` is empty. `body_length` is
// the Content-Length: 0 without one, SIZE_MAX for a value too large for size_t. It never
// returns 413.
ParseResult parse_http_head(std::string_view input, size_t max_header_bytes, HttpRequest& request,
                            size_t& body_length);

}  // namespace parley::net
