#include <doctest/doctest.h>

#include <optional>
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

// A file that contains CRLF, NUL, the boundary without its CRLF, and "\r\n--" followed by a
// prefix of the boundary or by the boundary and a character that cannot follow a delimiter.
const std::string kBinaryFile =
    "\x89PNG\r\n\x1a\n\0\r\n--XyZ\r\n--XyZboundar\r\n--XyZboundaryX\r\n--XyZboundary-\r\n"s
    "--XyZboundary tail\r\n\r\n"s;

// A body with the field "caption" and kBinaryFile in the field "file", whose filename parameter
// is `filename_parameter` as written in the header.
std::string caption_and_file_body(std::string_view filename_parameter) {
  return "--XyZboundary\r\n"
         "Content-Disposition: form-data; name=\"caption\"\r\n"
         "\r\n"
         "hello world\r\n"
         "--XyZboundary\r\n"
         "content-disposition: form-data; name=\"file\"; filename=" +
         std::string(filename_parameter) +
         "\r\n"
         "Content-Type: image/png\r\n"
         "\r\n" +
         kBinaryFile + "\r\n--XyZboundary--\r\n";
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
  const std::string& file = kBinaryFile;
  std::string body = caption_and_file_body("\"cat \\\"1\\\".png\"");
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

namespace {

// What a MultipartReader reported, with each part's content copied out of the pieces.
struct Recorded {
  std::vector<net::MultipartPart> parts;
  std::vector<std::string> contents;
  size_t pieces = 0;
  bool ended_last_part = true;
};

class Recorder final : public net::MultipartVisitor {
 public:
  Recorded recorded;

  void on_part_begin(const net::MultipartPart& part) override {
    recorded.parts.push_back(part);
    recorded.contents.emplace_back();
    recorded.ended_last_part = false;
  }
  void on_part_data(std::string_view data) override {
    recorded.contents.back().append(data);
    ++recorded.pieces;
  }
  void on_part_end() override { recorded.ended_last_part = true; }
};

// Feeds `body` in pieces that end at the given offsets, then the rest. Returns nullopt when
// the reader reports the body malformed.
std::optional<Recorded> read_in_pieces(std::string_view body, std::string_view boundary,
                                       const std::vector<size_t>& cuts) {
  net::MultipartReader reader(boundary);
  Recorder recorder;
  size_t start = 0;
  for (size_t cut : cuts) {
    if (!reader.feed(body.substr(start, cut - start), recorder)) {
      return std::nullopt;
    }
    start = cut;
  }
  if (!reader.feed(body.substr(start), recorder) || !reader.finish(recorder)) {
    return std::nullopt;
  }
  return recorder.recorded;
}

std::vector<size_t> every_byte(size_t size) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < size; ++i) {
    cuts.push_back(i);
  }
  return cuts;
}

// Checks that the reader, fed in the given pieces, finds what parse_multipart finds in the
// whole body.
void check_same_as_whole(std::string_view body, std::string_view boundary,
                         const std::vector<size_t>& cuts) {
  std::vector<net::MultipartPart> whole;
  bool whole_ok = net::parse_multipart(body, boundary, whole);
  std::optional<Recorded> pieces = read_in_pieces(body, boundary, cuts);
  REQUIRE(pieces.has_value() == whole_ok);
  if (!whole_ok) {
    return;
  }
  CHECK(pieces->ended_last_part);
  REQUIRE(pieces->parts.size() == whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    CAPTURE(i);
    CHECK(pieces->parts[i].name == whole[i].name);
    CHECK(pieces->parts[i].filename == whole[i].filename);
    CHECK(pieces->parts[i].content_type == whole[i].content_type);
    CHECK(pieces->parts[i].data.empty());
    CHECK(pieces->contents[i] == whole[i].data);
  }
}

// Bodies whose content contains near-delimiters, padding and CRs where pieces may split them.
std::vector<std::string> tricky_bodies() {
  const std::string disposition = "Content-Disposition: form-data; name=f\r\n";
  return {
      "--XyZboundary\r\n" + disposition +
          "\r\n\r\n--XyZ\r\n--XyZboundar\r\n--XyZboundaryX\r\n--XyZboundary-\r\n"
          "--XyZboundary \r\r\n\r\r\n--XyZboundary--x\r\n--XyZboundary \t \r\n" +
          disposition + "Content-Type: a/b\r\n\r\n\r\r\r\n\r\n--XyZboundary--  \r\nepilogue",
      "preamble \r\n--XyZboundary\r\r\n--XyZboundary\r\n" + disposition + "\r\n\r\n--XyZboundary--",
      "--XyZboundary\r\n" + disposition + "\r\n\r\n--XyZboundary\r\n" + disposition +
          "\r\nx\r\n--XyZboundary--\t",
      "--XyZboundary\r\n" + disposition + "\r\nno close\r\n--XyZboundary",
      "--XyZboundary\r\n" + disposition + "\r\nclose then CR\r\n--XyZboundary--\r",
      "--XyZboundary\r\n" + disposition + "X: a\rb\r\n\r\nx\r\n--XyZboundary--\r\n",
      "--XyZboundary\r\n" + disposition + "X: a\n\r\nx\r\n--XyZboundary--\r\n",
  };
}

}  // namespace

TEST_CASE("multipart reader fed one byte at a time") {
  for (const std::string& body : tricky_bodies()) {
    CAPTURE(body);
    check_same_as_whole(body, "XyZboundary", every_byte(body.size()));
  }
}

TEST_CASE("multipart reader with boundaries split across pieces") {
  for (const std::string& body : tricky_bodies()) {
    CAPTURE(body);
    for (size_t first = 1; first < body.size(); ++first) {
      check_same_as_whole(body, "XyZboundary", {first});
      for (size_t second = first + 1; second < body.size(); second += 7) {
        check_same_as_whole(body, "XyZboundary", {first, second});
      }
    }
  }
}

TEST_CASE("multipart reader splits the binary file body") {
  std::string body = caption_and_file_body("\"cat.png\"");
  std::optional<Recorded> bytes = read_in_pieces(body, "XyZboundary", every_byte(body.size()));
  REQUIRE(bytes.has_value());
  REQUIRE(bytes->parts.size() == 2);
  CHECK(bytes->parts[0].name == "caption");
  CHECK(bytes->contents[0] == "hello world");
  CHECK(bytes->parts[1].name == "file");
  CHECK(bytes->parts[1].filename == "cat.png");
  CHECK(bytes->parts[1].content_type == "image/png");
  CHECK(bytes->contents[1] == kBinaryFile);
  for (size_t cut = 1; cut < body.size(); ++cut) {
    CAPTURE(cut);
    check_same_as_whole(body, "XyZboundary", {cut});
  }
}

TEST_CASE("multipart reader passes content on at once") {
  // Content arrives in 1000-byte pieces, and every byte that cannot start a delimiter must
  // reach the visitor before the next piece: the reader keeps no content of its own.
  const std::string head = "--b\r\nContent-Disposition: form-data; name=file\r\n\r\n";
  std::string piece(1000, 'x');
  piece[500] = '\r';
  piece[998] = '\r';
  piece[999] = '\n';
  net::MultipartReader reader("b");
  Recorder recorder;
  REQUIRE(reader.feed(head, recorder));
  size_t fed = 0;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(reader.feed(piece, recorder));
    fed += piece.size();
    REQUIRE(recorder.recorded.contents.size() == 1);
    // Only the trailing "\r\n", which may begin "\r\n--b", is held back.
    CHECK(recorder.recorded.contents[0].size() == fed - 2);
  }
  REQUIRE(reader.feed("\r\n--b--\r\n", recorder));
  CHECK(reader.complete());
  CHECK(reader.finish(recorder));
  CHECK(recorder.recorded.contents[0].size() == fed);
  CHECK(recorder.recorded.ended_last_part);
}

TEST_CASE("multipart reader ignores the epilogue") {
  net::MultipartReader reader("b");
  Recorder recorder;
  REQUIRE(
      reader.feed("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n", recorder));
  CHECK(reader.complete());
  CHECK(reader.feed("--b\r\nnot a part at all", recorder));
  CHECK(reader.finish(recorder));
  REQUIRE(recorder.recorded.parts.size() == 1);
  CHECK(recorder.recorded.contents[0] == "x");
}

TEST_CASE("multipart reader stays failed") {
  net::MultipartReader reader("b");
  Recorder recorder;
  CHECK_FALSE(reader.feed("--b\r\nno colon here\r\n", recorder));
  CHECK(reader.failed());
  CHECK_FALSE(reader.feed("\r\n--b--\r\n", recorder));
  CHECK_FALSE(reader.finish(recorder));
  CHECK(recorder.recorded.parts.empty());

  net::MultipartReader invalid_boundary("");
  CHECK(invalid_boundary.failed());
  CHECK_FALSE(invalid_boundary.feed("----\r\n", recorder));
}

TEST_CASE("multipart reader limits the header block") {
  const std::string start = "--b\r\nContent-Disposition: form-data; name=a\r\n";
  const size_t room = net::MultipartReader::kMaxPartHeaderBytes - (start.size() - 5) - 2;
  std::string fits = start + "X: " + std::string(room - 5, 'a') + "\r\n";
  std::string too_long = start + "X: " + std::string(room - 4, 'a') + "\r\n";
  const std::string rest = "\r\ndata\r\n--b--\r\n";

  std::optional<Recorded> at_limit = read_in_pieces(fits + rest, "b", {fits.size() / 2});
  REQUIRE(at_limit.has_value());
  CHECK(at_limit->contents[0] == "data");
  CHECK_FALSE(read_in_pieces(too_long + rest, "b", {too_long.size() / 2}).has_value());
}

TEST_CASE("multipart reader limits transport padding") {
  const std::string part = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx";
  const size_t max = net::MultipartReader::kMaxPaddingBytes;
  // At the limit the line is a delimiter. One more space makes it content, so the body then
  // lacks its close delimiter.
  std::string at_limit = part + "\r\n--b--" + std::string(max, ' ') + "\r\n";
  std::string over_limit = part + "\r\n--b--" + std::string(max + 1, ' ') + "\r\n";
  std::optional<Recorded> fits = read_in_pieces(at_limit, "b", {part.size() + 10});
  REQUIRE(fits.has_value());
  CHECK(fits->contents[0] == "x");
  CHECK_FALSE(read_in_pieces(over_limit, "b", {part.size() + 10}).has_value());

  std::string content_then_close = over_limit + "\r\n--b--\r\n";
  std::optional<Recorded> content = read_in_pieces(content_then_close, "b", {part.size() + 10});
  REQUIRE(content.has_value());
  CHECK(content->contents[0] == "x\r\n--b--" + std::string(max + 1, ' ') + "\r\n");
}
