// Fuzzes parse_http_request and parse_http_head as a connection drives them: bytes arrive in
// chunks, each complete request is taken off the front of the buffer, and pipelined requests
// follow. The input layout is in chunked_input.h. Checks:
// - the requests and the final error or leftover bytes are the same whether the payload
//   arrives whole or in the input's chunks;
// - parse_http_head agrees with parse_http_request on the head and the verdict;
// - every parsed request keeps the documented invariants of HttpRequest;
// - a parsed request written out again parses to the same request.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/chunked_input.h"
#include "fuzz/fuzz_check.h"
#include "net/http_parser.h"

namespace parley::fuzz {
namespace {

using net::HttpLimits;
using net::HttpRequest;
using net::ParseResult;
using net::ParseStatus;

// The default limits and small ones, so that inputs of a few hundred bytes reach 413 and 431.
HttpLimits limits_for(unsigned variant) {
  switch (variant % 4) {
    case 1:
      return HttpLimits{.max_header_bytes = 256, .max_body_bytes = 64};
    case 2:
      return HttpLimits{.max_header_bytes = 1024, .max_body_bytes = 0};
    case 3:
      return HttpLimits{.max_header_bytes = 16, .max_body_bytes = 16};
    default:
      return HttpLimits{};
  }
}

// Every field of a request in one string, with lengths so that no two requests collide.
std::string describe(const HttpRequest& request) {
  std::string text;
  auto add = [&text](std::string_view field) {
    text += std::to_string(field.size());
    text += ':';
    text += field;
  };
  add(request.method);
  add(request.target);
  add(request.path);
  add(request.query);
  add(std::to_string(request.version_minor));
  for (const auto& [name, value] : request.headers) {
    add(name);
    add(value);
  }
  add(request.body);
  return text;
}

// The request line, headers and body, written the way a client sends them.
std::string serialize(const HttpRequest& request) {
  std::string text = request.method + " " + request.target + " HTTP/1." +
                     std::to_string(request.version_minor) + "\r\n";
  for (const auto& [name, value] : request.headers) {
    text += name + ": " + value + "\r\n";
  }
  text += "\r\n";
  text += request.body;
  return text;
}

bool is_lower_case(std::string_view text) {
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') {
      return false;
    }
  }
  return true;
}

void check_request(const HttpRequest& request, const HttpLimits& limits) {
  FUZZ_CHECK(!request.method.empty());
  FUZZ_CHECK(request.target.starts_with('/'));
  FUZZ_CHECK(request.path.find('\0') == std::string::npos);
  FUZZ_CHECK(request.version_minor == 0 || request.version_minor == 1);
  FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(is_lower_case(name));
  }
  if (auto length = request.header("content-length")) {
    // Leading zeros are valid, so compare numbers. The parser has checked that only digits
    // remain and that the value is within max_body_bytes.
    size_t value = 0;
    for (char digit : *length) {
      value = value * 10 + static_cast<size_t>(digit - '0');
    }
    FUZZ_CHECK(value == request.body.size());
  } else {
    FUZZ_CHECK(request.body.empty());
  }
  if (request.version_minor == 1) {
    FUZZ_CHECK(request.header("host").has_value());
  }
  // The accessors must cope with any header and query text the parser lets through.
  (void)request.keep_alive();
  (void)request.header_has_token("connection", "upgrade");
  (void)request.query_param("conv");
  (void)request.query_param("");

  const std::string again = serialize(request);
  // Writing adds a space after each colon, so the header block may grow past the limits the
  // request was parsed with.
  const HttpLimits roomy{.max_header_bytes = again.size() + 1,
                         .max_body_bytes = request.body.size()};
  HttpRequest reparsed;
  const ParseResult result = net::parse_http_request(again, roomy, reparsed);
  FUZZ_CHECK(result.status == ParseStatus::kComplete);
  FUZZ_CHECK(result.consumed == again.size());
  FUZZ_CHECK(describe(reparsed) == describe(request));
}

// Checks parse_http_head against parse_http_request's `full` result on the same bytes: the
// same head and verdict, except that the body and its limit are left to the caller.
void compare_head(std::string_view buffer, const HttpLimits& limits, const ParseResult& full,
                  const HttpRequest& full_request) {
  HttpRequest head;
  size_t body_length = 0;
  const ParseResult result =
      net::parse_http_head(buffer, limits.max_header_bytes, head, body_length);
  if (result.status == ParseStatus::kComplete) {
    FUZZ_CHECK(head.body.empty());
    FUZZ_CHECK(result.consumed <= buffer.size());
  }
  if (full.status == ParseStatus::kComplete) {
    FUZZ_CHECK(result.status == ParseStatus::kComplete);
    FUZZ_CHECK(body_length == full_request.body.size());
    FUZZ_CHECK(result.consumed + body_length == full.consumed);
    head.body = full_request.body;
    FUZZ_CHECK(describe(head) == describe(full_request));
  } else if (full.status == ParseStatus::kNeedMore) {
    FUZZ_CHECK(result.status != ParseStatus::kError);
    if (result.status == ParseStatus::kComplete) {
      FUZZ_CHECK(buffer.size() - result.consumed < body_length);
    }
  } else if (full.error_status == 413) {
    // parse_http_request rejects the Content-Length line as soon as it is complete, while
    // parse_http_head goes on and may still need more bytes or find another error.
    if (result.status == ParseStatus::kComplete) {
      FUZZ_CHECK(body_length > limits.max_body_bytes);
    }
  } else {
    FUZZ_CHECK(result.status == ParseStatus::kError);
    FUZZ_CHECK(result.error_status == full.error_status);
  }
}

// The result of a connection's bytes: the requests in order, then either an error status or
// the count of bytes left waiting for the rest of a request.
struct Outcome {
  std::vector<std::string> requests;
  int error_status = 0;
  size_t leftover = 0;

  bool operator==(const Outcome&) const = default;
};

Outcome deliver(const std::vector<std::string_view>& chunks, const HttpLimits& limits) {
  Outcome outcome;
  std::string buffer;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    for (;;) {
      HttpRequest request;
      const ParseResult result = net::parse_http_request(buffer, limits, request);
      compare_head(buffer, limits, result, request);
      if (result.status == ParseStatus::kNeedMore) {
        FUZZ_CHECK(result.consumed == 0);
        break;
      }
      if (result.status == ParseStatus::kError) {
        const int status = result.error_status;
        FUZZ_CHECK(status == 400 || status == 413 || status == 431 || status == 501 ||
                   status == 505);
        outcome.error_status = status;
        return outcome;
      }
      FUZZ_CHECK(result.consumed > 0);
      FUZZ_CHECK(result.consumed <= buffer.size());
      check_request(request, limits);
      outcome.requests.push_back(describe(request));
      buffer.erase(0, result.consumed);
    }
  }
  outcome.leftover = buffer.size();
  return outcome;
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::fuzz;
  const ChunkedInput input = read_chunked_input(data, size);
  const parley::net::HttpLimits limits = limits_for(input.variant);
  const Outcome whole = deliver({input.payload}, limits);
  const Outcome pieces = deliver(input.chunks, limits);
  FUZZ_CHECK(pieces == whole);
  return 0;
}
