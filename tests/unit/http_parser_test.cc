#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "net/http_message.h"
#include "net/http_parser.h"

namespace net = parley::net;
using namespace std::string_literals;

namespace {

struct Parsed {
  net::ParseResult result;
  net::HttpRequest request;
};

Parsed parse(std::string_view input, const net::HttpLimits& limits = {}) {
  Parsed parsed;
  parsed.result = net::parse_http_request(input, limits, parsed.request);
  return parsed;
}

net::HttpRequest request_with_headers(std::vector<std::pair<std::string, std::string>> headers) {
  net::HttpRequest request;
  request.headers = std::move(headers);
  return request;
}

net::HttpRequest request_with_query(std::string query) {
  net::HttpRequest request;
  request.query = std::move(query);
  return request;
}

}  // namespace

TEST_CASE("parser reads a complete GET") {
  std::string input =
      "GET /api/messages?conv=u%3A2&limit=5 HTTP/1.1\r\n"
      "Host: localhost:8080\r\n"
      "User-Agent:  test \t\r\n"
      "Accept: */*\r\n"
      "\r\n";
  Parsed parsed = parse(input);
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.result.consumed == input.size());
  CHECK(parsed.request.method == "GET");
  CHECK(parsed.request.target == "/api/messages?conv=u%3A2&limit=5");
  CHECK(parsed.request.path == "/api/messages");
  CHECK(parsed.request.query == "conv=u%3A2&limit=5");
  CHECK(parsed.request.version_minor == 1);
  REQUIRE(parsed.request.headers.size() == 3);
  CHECK(parsed.request.headers[0].first == "host");
  CHECK(parsed.request.headers[0].second == "localhost:8080");
  CHECK(parsed.request.headers[1].first == "user-agent");
  CHECK(parsed.request.headers[1].second == "test");
  CHECK(parsed.request.body.empty());
}

TEST_CASE("parser percent-decodes the path only") {
  Parsed parsed = parse("GET /media/a%20b+c%2Fd?x=%41 HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.request.path == "/media/a b+c/d");
  CHECK(parsed.request.query == "x=%41");
}

TEST_CASE("parser reads a POST body") {
  std::string input =
      "POST /api/login HTTP/1.1\r\n"
      "Host: h\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 13\r\n"
      "\r\n"
      "{\"a\":\"b\\r\\n\"}";
  Parsed parsed = parse(input);
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.result.consumed == input.size());
  CHECK(parsed.request.method == "POST");
  CHECK(parsed.request.body == "{\"a\":\"b\\r\\n\"}");
  CHECK(parsed.request.header("content-type") == "application/json");
}

TEST_CASE("parser waits for every byte") {
  std::string input =
      "POST /api/register HTTP/1.1\r\n"
      "Host: h\r\n"
      "Content-Length: 5\r\n"
      "\r\n"
      "hello";
  for (size_t length = 0; length < input.size(); ++length) {
    CAPTURE(length);
    net::HttpRequest request;
    request.method = "untouched";
    net::ParseResult result =
        net::parse_http_request(std::string_view(input).substr(0, length), {}, request);
    CHECK(result.status == net::ParseStatus::kNeedMore);
    CHECK(request.method == "untouched");
  }
  Parsed parsed = parse(input);
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.result.consumed == input.size());
  CHECK(parsed.request.body == "hello");
}

TEST_CASE("parser splits pipelined requests") {
  std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string input = first + second;

  Parsed first_parsed = parse(input);
  REQUIRE(first_parsed.result.status == net::ParseStatus::kComplete);
  CHECK(first_parsed.result.consumed == first.size());
  CHECK(first_parsed.request.path == "/a");
  CHECK(first_parsed.request.body == "abc");

  Parsed second_parsed = parse(std::string_view(input).substr(first_parsed.result.consumed));
  REQUIRE(second_parsed.result.status == net::ParseStatus::kComplete);
  CHECK(second_parsed.result.consumed == second.size());
  CHECK(second_parsed.request.path == "/b");
  CHECK(second_parsed.request.body.empty());
}

TEST_CASE("parser skips empty lines before a request") {
  std::string input = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  Parsed parsed = parse(input);
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.result.consumed == input.size());
  CHECK(parsed.request.path == "/");
}

TEST_CASE("parser accepts HTTP/1.0 without Host") {
  Parsed parsed = parse("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.request.version_minor == 0);
}

TEST_CASE("parser accepts identical Content-Length headers") {
  Parsed parsed =
      parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(parsed.result.status == net::ParseStatus::kComplete);
  CHECK(parsed.request.body == "ok");
}

TEST_CASE("parser rejects malformed requests") {
  struct Case {
    const char* description;
    std::string input;
    int status;
  };
  const Case cases[] = {
      {"missing version", "GET /\r\nHost: h\r\n\r\n", 400},
      {"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"invalid method char", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"absolute-form target", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"fragment in target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"invalid path escape", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"truncated path escape", "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"NUL in path", "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"invalid Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"missing colon", "GET / HTTP/1.1\r\nHost: h\r\nBroken\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n c\r\n\r\n", 400},
      {"whitespace after request line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: h\n\n", 400},
      {"bare LF in header", "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\n\r\n", 400},
      {"bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\rc\r\n\r\n", 400},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\0c\r\n\r\n"s, 400},
      {"signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", 400},
      {"empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
      {"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx", 400},
      {"conflicting Content-Length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400},
      {"chunked body", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"Transfer-Encoding with length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: gzip\r\n\r\nx", 501},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
  };
  for (const Case& c : cases) {
    CAPTURE(c.description);
    Parsed parsed = parse(c.input);
    CHECK(parsed.result.status == net::ParseStatus::kError);
    CHECK(parsed.result.error_status == c.status);
  }
}

TEST_CASE("parser reports request line errors early") {
  Parsed version = parse("GET / HTTP/2.0\r\n");
  CHECK(version.result.status == net::ParseStatus::kError);
  CHECK(version.result.error_status == 505);

  Parsed bare_line_feed = parse("GET / HTTP/1.1\n");
  CHECK(bare_line_feed.result.status == net::ParseStatus::kError);
  CHECK(bare_line_feed.result.error_status == 400);
}

TEST_CASE("parser rejects oversize body early") {
  net::HttpLimits limits;
  limits.max_body_bytes = 10;
  Parsed at_limit = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", limits);
  CHECK(at_limit.result.status == net::ParseStatus::kNeedMore);

  Parsed over = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits);
  CHECK(over.result.status == net::ParseStatus::kError);
  CHECK(over.result.error_status == 413);

  Parsed huge =
      parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n", limits);
  CHECK(huge.result.status == net::ParseStatus::kError);
  CHECK(huge.result.error_status == 413);
}

TEST_CASE("head parser leaves the body unread") {
  std::string head = "POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  net::HttpRequest request;
  size_t body_length = 0;
  net::ParseResult result = net::parse_http_head(head + "he", 16 * 1024, request, body_length);
  CHECK(result.status == net::ParseStatus::kComplete);
  CHECK(result.consumed == head.size());
  CHECK(body_length == 5);
  CHECK(request.method == "POST");
  CHECK(request.path == "/api/upload");
  CHECK(request.body.empty());
  CHECK(request.header("content-length") == "5");
}

TEST_CASE("head parser reports lengths over any limit") {
  net::HttpRequest request;
  size_t body_length = 0;
  net::ParseResult big =
      net::parse_http_head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000000\r\n\r\n",
                           1024, request, body_length);
  CHECK(big.status == net::ParseStatus::kComplete);
  CHECK(body_length == 10000000000u);

  net::ParseResult huge = net::parse_http_head(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 1024,
      request, body_length);
  CHECK(huge.status == net::ParseStatus::kComplete);
  CHECK(body_length == SIZE_MAX);
}

TEST_CASE("head parser applies the header checks") {
  net::HttpRequest request;
  size_t body_length = 7;
  net::ParseResult no_body =
      net::parse_http_head("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1024, request, body_length);
  CHECK(no_body.status == net::ParseStatus::kComplete);
  CHECK(body_length == 0);

  net::ParseResult partial =
      net::parse_http_head("GET / HTTP/1.1\r\nHost: h\r\n", 1024, request, body_length);
  CHECK(partial.status == net::ParseStatus::kNeedMore);

  net::ParseResult no_host =
      net::parse_http_head("GET / HTTP/1.1\r\n\r\n", 1024, request, body_length);
  CHECK(no_host.status == net::ParseStatus::kError);
  CHECK(no_host.error_status == 400);

  net::ParseResult chunked =
      net::parse_http_head("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 1024,
                           request, body_length);
  CHECK(chunked.status == net::ParseStatus::kError);
  CHECK(chunked.error_status == 501);

  net::ParseResult conflicting = net::parse_http_head(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 1024, request,
      body_length);
  CHECK(conflicting.status == net::ParseStatus::kError);
  CHECK(conflicting.error_status == 400);

  net::ParseResult too_long = net::parse_http_head(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(100, 'a'), 64, request, body_length);
  CHECK(too_long.status == net::ParseStatus::kError);
  CHECK(too_long.error_status == 431);
}

TEST_CASE("serialize_head sets the given length") {
  net::HttpResponse response;
  response.headers.emplace_back("Content-Type", "image/png");
  response.body = "ignored";
  CHECK(response.serialize_head(true, 123456) ==
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 123456\r\n"
        "Connection: keep-alive\r\n\r\n");
  CHECK(response.serialize(false) ==
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 7\r\n"
        "Connection: close\r\n\r\nignored");
}

TEST_CASE("parser enforces the header limit") {
  net::HttpLimits limits;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  std::string exact =
      head + std::string(limits.max_header_bytes - head.size() - 4, 'a') + "\r\n\r\n";
  REQUIRE(exact.size() == limits.max_header_bytes);
  Parsed fits = parse(exact, limits);
  CHECK(fits.result.status == net::ParseStatus::kComplete);

  std::string one_over =
      head + std::string(limits.max_header_bytes - head.size() - 3, 'a') + "\r\n\r\n";
  Parsed complete_over = parse(one_over, limits);
  CHECK(complete_over.result.status == net::ParseStatus::kError);
  CHECK(complete_over.result.error_status == 431);

  // No empty line yet: the block can only grow, so the parser rejects it without waiting.
  std::string incomplete = head + std::string(limits.max_header_bytes, 'a');
  Parsed incomplete_over = parse(incomplete, limits);
  CHECK(incomplete_over.result.status == net::ParseStatus::kError);
  CHECK(incomplete_over.result.error_status == 431);

  std::string many_crlf;
  for (size_t i = 0; i < limits.max_header_bytes / 2; ++i) {
    many_crlf += "\r\n";
  }
  Parsed leading_crlf = parse(many_crlf, limits);
  CHECK(leading_crlf.result.status == net::ParseStatus::kError);
  CHECK(leading_crlf.result.error_status == 431);
}

TEST_CASE("header returns the first match") {
  net::HttpRequest request = request_with_headers({{"x-a", "1"}, {"x-a", "2"}});
  CHECK(request.header("x-a") == "1");
  CHECK_FALSE(request.header("x-b").has_value());
}

TEST_CASE("header_has_token matches whole tokens") {
  net::HttpRequest request =
      request_with_headers({{"connection", "keep-alive, Upgrade"}, {"upgrade", "websocket"}});
  CHECK(request.header_has_token("connection", "upgrade"));
  CHECK(request.header_has_token("connection", "keep-alive"));
  CHECK(request.header_has_token("upgrade", "WebSocket"));
  CHECK_FALSE(request.header_has_token("connection", "upgradex"));
  CHECK_FALSE(request.header_has_token("connection", "Upgrad"));
  CHECK_FALSE(request.header_has_token("connection", ""));
  CHECK_FALSE(request.header_has_token("upgrade", "upgrade"));

  net::HttpRequest near_miss = request_with_headers({{"connection", "Upgradex"}});
  CHECK_FALSE(near_miss.header_has_token("connection", "upgrade"));

  net::HttpRequest repeated =
      request_with_headers({{"connection", "keep-alive"}, {"connection", " \tupgrade\t "}});
  CHECK(repeated.header_has_token("connection", "upgrade"));

  net::HttpRequest empty_items = request_with_headers({{"connection", ",, close ,"}});
  CHECK(empty_items.header_has_token("connection", "close"));
}

TEST_CASE("query_param decodes values") {
  net::HttpRequest request =
      request_with_query("conv=u%3A2&text=hello+world%21&empty=&flag&%74oken=abc&bad=%zz&cut=%4");
  CHECK(request.query_param("conv") == "u:2");
  CHECK(request.query_param("text") == "hello world!");
  CHECK(request.query_param("empty") == "");
  CHECK(request.query_param("flag") == "");
  CHECK(request.query_param("token") == "abc");
  CHECK_FALSE(request.query_param("bad").has_value());
  CHECK_FALSE(request.query_param("cut").has_value());
  CHECK_FALSE(request.query_param("missing").has_value());
  CHECK_FALSE(request.query_param("con").has_value());

  net::HttpRequest repeated = request_with_query("a=1&a=2");
  CHECK(repeated.query_param("a") == "1");

  net::HttpRequest empty = request_with_query("");
  CHECK_FALSE(empty.query_param("a").has_value());
}

TEST_CASE("keep_alive follows version and Connection") {
  net::HttpRequest http11;
  CHECK(http11.keep_alive());
  http11.headers = {{"connection", "Close"}};
  CHECK_FALSE(http11.keep_alive());

  net::HttpRequest http10;
  http10.version_minor = 0;
  CHECK_FALSE(http10.keep_alive());
  http10.headers = {{"connection", "Keep-Alive"}};
  CHECK(http10.keep_alive());
}

TEST_CASE("serialize writes status, headers and body") {
  net::HttpResponse response;
  response.status = 200;
  response.headers = {{"Content-Type", "text/plain"}};
  response.body = "hi";
  CHECK(response.serialize(true) ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 2\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
        "hi");

  net::HttpResponse not_found;
  not_found.status = 404;
  CHECK(not_found.serialize(false) ==
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_CASE("serialize omits content for 204 and 304") {
  for (int status : {204, 304}) {
    CAPTURE(status);
    net::HttpResponse response;
    response.status = status;
    response.body = "ignored";
    std::string out = response.serialize(true);
    CHECK(out.find("Content-Length") == std::string::npos);
    CHECK(out.find("ignored") == std::string::npos);
    CHECK(out.ends_with("Connection: keep-alive\r\n\r\n"));
  }
}

TEST_CASE("serialize keeps the caller's Connection header") {
  net::HttpResponse response;
  response.status = 101;
  response.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  CHECK(response.serialize(true) ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "\r\n");
}

TEST_CASE("serialize neutralizes line breaks in values") {
  net::HttpResponse response;
  response.headers = {{"X-Name", "a\r\nSet-Cookie: x"}};
  std::string out = response.serialize(true);
  CHECK(out.find("X-Name: a  Set-Cookie: x\r\n") != std::string::npos);
  CHECK(out.find("\r\nSet-Cookie") == std::string::npos);
}

TEST_CASE("reason_phrase covers common codes") {
  CHECK(net::reason_phrase(101) == "Switching Protocols");
  CHECK(net::reason_phrase(201) == "Created");
  CHECK(net::reason_phrase(204) == "No Content");
  CHECK(net::reason_phrase(400) == "Bad Request");
  CHECK(net::reason_phrase(413) == "Content Too Large");
  CHECK(net::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(net::reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(net::reason_phrase(599) == "");
}
