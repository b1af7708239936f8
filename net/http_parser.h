#pragma once
// Incremental HTTP/1.1 request parser. Pure: no I/O, no allocation beyond the request it fills.
// One parser per connection, used only by the connection's loop thread.

#include <cstddef>
#include <string_view>

#include "net/http_message.h"

namespace parley::net {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;         // request line plus all headers
  size_t max_body_bytes = 11 * 1024 * 1024;    // Content-Length above this is rejected with 413
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

// Parses one request from the start of `input`. Chunked request bodies are rejected with 501
// (Transfer-Encoding), since no client of ours sends them. Returns kNeedMore until the header
// block and the whole Content-Length body are present.
ParseResult parse_http_request(std::string_view input, const HttpLimits& limits,
                               HttpRequest& request);

}  // namespace parley::net
