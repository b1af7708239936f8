// Fuzzes multipart_boundary and parse_multipart. The input is a Content-Type value up to the
// first line feed, then the body. When the value yields no boundary, the value itself is tried
// as the boundary, so that bodies are fuzzed even when the header is not valid. Checks:
// - every part's data lies inside the body, in order and without overlap;
// - the parts written out again as a body parse to the same parts;
// - a boundary that the header parser returns comes back from a header written around it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/multipart.h"

namespace parley::fuzz {
namespace {

using net::MultipartPart;

std::string quote(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// Writes parts as a client would, with the same boundary.
std::string serialize(const std::vector<MultipartPart>& parts, std::string_view boundary) {
  const std::string dash_boundary = "--" + std::string(boundary);
  std::string body = dash_boundary + "\r\n";
  for (size_t i = 0; i < parts.size(); ++i) {
    const MultipartPart& part = parts[i];
    body += "Content-Disposition: form-data; name=" + quote(part.name);
    if (!part.filename.empty()) {
      body += "; filename=" + quote(part.filename);
    }
    body += "\r\n";
    if (!part.content_type.empty()) {
      body += "Content-Type: " + part.content_type + "\r\n";
    }
    body += "\r\n";
    body += part.data;
    body += "\r\n" + dash_boundary;
    body += i + 1 == parts.size() ? "--" : "\r\n";
  }
  return body;
}

bool same_parts(const std::vector<MultipartPart>& a, const std::vector<MultipartPart>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].filename != b[i].filename ||
        a[i].content_type != b[i].content_type || a[i].data != b[i].data) {
      return false;
    }
  }
  return true;
}

void check_parts(std::string_view body, std::string_view boundary,
                 const std::vector<MultipartPart>& parts) {
  FUZZ_CHECK(!parts.empty());
  const char* previous_end = body.data();
  for (const MultipartPart& part : parts) {
    FUZZ_CHECK(part.data.data() >= previous_end);
    FUZZ_CHECK(part.data.data() + part.data.size() <= body.data() + body.size());
    previous_end = part.data.data() + part.data.size();
  }

  const std::string again = serialize(parts, boundary);
  std::vector<MultipartPart> reparsed;
  FUZZ_CHECK(net::parse_multipart(again, boundary, reparsed));
  FUZZ_CHECK(same_parts(reparsed, parts));
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::fuzz;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_feed = input.find('\n');
  const std::string_view header = input.substr(0, line_feed);
  const std::string_view body =
      line_feed == std::string_view::npos ? std::string_view() : input.substr(line_feed + 1);

  const std::optional<std::string> parsed_boundary = parley::net::multipart_boundary(header);
  if (parsed_boundary) {
    const std::string written = "multipart/form-data; boundary=" + quote(*parsed_boundary);
    FUZZ_CHECK(parley::net::multipart_boundary(written) == parsed_boundary);
  }
  const std::string boundary = parsed_boundary.value_or(std::string(header));

  std::vector<parley::net::MultipartPart> parts;
  if (parley::net::parse_multipart(body, boundary, parts)) {
    check_parts(body, boundary, parts);
  } else {
    FUZZ_CHECK(parts.empty());
  }
  return 0;
}
