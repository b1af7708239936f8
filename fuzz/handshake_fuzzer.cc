// Fuzzes check_upgrade_request and the handshake responses. The input is the text of an
// HTTP request. When the strict parser accepts it, that request is checked, as on the server.
// Otherwise a request is built from the lines without validation, so that header values the
// parser would reject (control bytes, odd whitespace) still reach the check, whose contract
// covers any HttpRequest. Checks:
// - the status is 101, 400 or 426, and only 101 comes without an error text;
// - a 101 carries the accept key computed from the request's Sec-WebSocket-Key;
// - the response built for the verdict ends its header block and has the right status line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/http_parser.h"
#include "ws/handshake.h"

namespace parley::fuzz {
namespace {

using net::HttpRequest;

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return result;
}

// Reads "METHOD TARGET HTTP/1.x" and then "name: value" lines, split at CRLF or LF, with no
// checks beyond what is needed to find the parts.
HttpRequest build_lenient_request(std::string_view text) {
  HttpRequest request;
  bool first_line = true;
  while (!text.empty()) {
    const size_t line_feed = text.find('\n');
    std::string_view line = text.substr(0, line_feed);
    text = line_feed == std::string_view::npos ? std::string_view() : text.substr(line_feed + 1);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    if (first_line) {
      first_line = false;
      const size_t space = line.find(' ');
      request.method.assign(line.substr(0, space));
      request.version_minor = line.ends_with("HTTP/1.0") ? 0 : 1;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    request.headers.emplace_back(lower(line.substr(0, colon)),
                                 std::string(net::detail::trim_ows(line.substr(colon + 1))));
  }
  return request;
}

void check_verdict(const HttpRequest& request) {
  const ws::HandshakeCheck check = ws::check_upgrade_request(request);
  FUZZ_CHECK(check.status == 101 || check.status == 400 || check.status == 426);
  if (check.status != 101) {
    FUZZ_CHECK(!check.error.empty());
    FUZZ_CHECK(check.accept_key.empty());
    const std::string response = ws::build_reject_response(check.status, check.error);
    FUZZ_CHECK(response.starts_with("HTTP/1.1 " + std::to_string(check.status) + " "));
    FUZZ_CHECK(response.ends_with("\r\n\r\n" + check.error));
    return;
  }
  FUZZ_CHECK(check.error.empty());
  FUZZ_CHECK(request.method == "GET");
  const auto key = request.header("sec-websocket-key");
  FUZZ_CHECK(key.has_value());
  FUZZ_CHECK(key->size() == 24);
  FUZZ_CHECK(check.accept_key.size() == 28);
  FUZZ_CHECK(check.accept_key == ws::compute_accept_key(*key));
  const std::string response = ws::build_accept_response(check.accept_key);
  FUZZ_CHECK(response.starts_with("HTTP/1.1 101 "));
  FUZZ_CHECK(response.ends_with("Sec-WebSocket-Accept: " + check.accept_key + "\r\n\r\n"));
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parley::net::HttpRequest request;
  const parley::net::ParseResult result =
      parley::net::parse_http_request(text, parley::net::HttpLimits{}, request);
  if (result.status == parley::net::ParseStatus::kComplete) {
    check_verdict(request);
  } else {
    check_verdict(build_lenient_request(text));
  }
  return 0;
}
