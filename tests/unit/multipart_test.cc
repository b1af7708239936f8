#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "net/multipart.h"

namespace net = parley::net;
using namespace std::string_literals;

namespace {

// Returns whether `view` lies inside `body`, so that a part's data does not copy the body.
bool points_into(std::string_view view, std::string_view body) {
  return view.data() >= body.data() && view.data() + view.size() <= body.data() + body.size();
}

}  // namespace

TEST_CASE("multipart_boundary reads the parameter") {
  CHECK(net::multipart_boundary("multipart/form-data; boundary=abc123") == "abc123");
  CHECK(net::multipart_boundary("multipart/form-data;boundary=abc") == "abc");
  CHECK(net::multipart_boundary("Multipart/Form-Data; BOUNDARY=abc") == "abc");
  CHECK(net::multipart_boundary("multipart/form-data; boundary=\"a b:c?\"") == "a b:c?");
  CHECK(net::multipart_boundary("multipart/form-data; charset=utf-8; boundary=x; y=z") == "x");
  CHECK(net::multipart_boundary(
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") ==
        "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  CHECK(net::multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'b')) ==
        std::string(70, 'b'));
}

TEST_CASE("multipart_boundary rejects invalid values") {
  CHECK_FALSE(net::multipart_boundary("multipart/form-data").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/mixed; boundary=abc").has_value());
  CHECK_FALSE(net::multipart_boundary("text/plain; boundary=abc").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=\"\"").has_value());
  CHECK_FALSE(
      net::multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')).has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=\"abc \"").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=\"a<b\"").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=\"abc").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary=a; boundary=b").has_value());
  CHECK_FALSE(net::multipart_boundary("multipart/form-data; boundary = abc").has_value());
}

TEST_CASE("parse_multipart reads fields and a binary file") {
  // The file contains CRLF, NUL, the boundary without its CRLF, and "\r\n--" followed by a
  // prefix of the boundary or by the boundary and a character that cannot follow a delimiter.
  std::string file =
      "\x89PNG\r\n\x1a\n\0\r\n--XyZ\r\n--XyZboundar\r\n--XyZboundaryX\r\n--XyZboundary-\r\n"s
      "--XyZboundary tail\r\n\r\n"s;
  std::string body =
      "--XyZboundary\r\n"
      "Content-Disposition: form-data; name=\"caption\"\r\n"
      "\r\n"
      "hello world\r\n"
      "--XyZboundary\r\n"
      "content-disposition: form-data; name=\"file\"; filename=\"cat \\\"1\\\".png\"\r\n"
      "Content-Type: image/png\r\n"
      "\r\n" +
      file + "\r\n--XyZboundary--\r\n";
  std::vector<net::MultipartPart> parts;
  REQUIRE(net::parse_multipart(body, "XyZboundary", parts));
  REQUIRE(parts.size() == 2);

  CHECK(parts[0].name == "caption");
  CHECK(parts[0].filename.empty());
  CHECK(parts[0].content_type.empty());
  CHECK(parts[0].data == "hello world");

  CHECK(parts[1].name == "file");
  CHECK(parts[1].filename == "cat \"1\".png");
  CHECK(parts[1].content_type == "image/png");
  CHECK(parts[1].data.size() == file.size());
  CHECK(parts[1].data == file);
  CHECK(points_into(parts[1].data, body));
}

TEST_CASE("parse_multipart ignores preamble and epilogue") {
  std::string body =
      "preamble line\r\n"
      "--b  \r\n"
      "Content-Disposition: form-data; name=a\r\n"
      "\r\n"
      "\r\n"
      "--b--\t\r\n"
      "epilogue --b\r\n";
  std::vector<net::MultipartPart> parts;
  REQUIRE(net::parse_multipart(body, "b", parts));
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].name == "a");
  CHECK(parts[0].data.empty());
}

TEST_CASE("parse_multipart accepts a body ending at the close delimiter") {
  std::string body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--";
  std::vector<net::MultipartPart> parts;
  REQUIRE(net::parse_multipart(body, "b", parts));
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].data == "x");
}

TEST_CASE("parse_multipart rejects malformed bodies") {
  const std::string disposition = "Content-Disposition: form-data; name=a\r\n";
  struct Case {
    const char* description;
    std::string body;
  };
  const Case cases[] = {
      {"empty body", ""},
      {"no delimiter", "just text\r\n"},
      {"only the close delimiter", "--b--\r\n"},
      {"missing close delimiter", "--b\r\n" + disposition + "\r\ndata\r\n"},
      {"body cut after the boundary", "--b\r\n" + disposition + "\r\ndata\r\n--b"},
      {"close delimiter without CRLF before it", "--b\r\n" + disposition + "\r\ndata--b--"},
      {"part without headers end", "--b\r\n" + disposition + "--b--\r\n"},
      {"part without headers", "--b\r\n\r\ndata\r\n--b--\r\n"},
      {"header without colon", "--b\r\n" + disposition + "Broken\r\n\r\nx\r\n--b--\r\n"},
      {"obs-fold header", "--b\r\n" + disposition + " folded\r\n\r\nx\r\n--b--\r\n"},
      {"disposition not form-data",
       "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--\r\n"},
      {"disposition without name",
       "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--b--\r\n"},
      {"two dispositions", "--b\r\n" + disposition + disposition + "\r\nx\r\n--b--\r\n"},
      {"unterminated quote",
       "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--\r\n"},
      {"second part broken",
       "--b\r\n" + disposition + "\r\nx\r\n--b\r\nContent-Type: text/plain\r\n\r\ny\r\n--b--\r\n"},
      {"garbage after the boundary", "--bX\r\n" + disposition + "\r\nx\r\n--b--\r\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.description);
    std::vector<net::MultipartPart> parts(1);
    CHECK_FALSE(net::parse_multipart(c.body, "b", parts));
    CHECK(parts.empty());
  }
}

TEST_CASE("parse_multipart rejects an invalid boundary") {
  std::string body = "--\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n----\r\n";
  std::vector<net::MultipartPart> parts;
  CHECK_FALSE(net::parse_multipart(body, "", parts));
  CHECK_FALSE(net::parse_multipart(body, std::string(71, 'b'), parts));
}

TEST_CASE("parse_multipart rejects delimiter as header") {
  std::string body =
      "--a:b\r\n"
      "Content-Disposition: form-data; name=f\r\n"
      "--a:b\r\n"
      "\r\n"
      "x\r\n"
      "--a:b--\r\n";
  std::vector<net::MultipartPart> parts;
  CHECK_FALSE(net::parse_multipart(body, "a:b", parts));
}
