// Fuzzes multipart_boundary, parse_multipart and MultipartReader. The input has the layout of
// chunked_input.h, and its payload is a Content-Type value up to the first line feed, then the
// body. When the value yields no boundary, the value itself is tried as the boundary, so that
// bodies are fuzzed even when the header is not valid. Checks:
// - a MultipartReader fed the body in the input's chunks finds the same parts as
//   parse_multipart on the whole body, and stays silent once it has failed;
// - every part's data lies inside the body, in order and without overlap;
// - the parts written out again as a body parse to the same parts;
// - a boundary that the header parser returns comes back from a header written around it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/chunked_input.h"
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

// Writes the header block of a part, the empty line included.
std::string header_block(const MultipartPart& part) {
  std::string block = "Content-Disposition: form-data; name=" + quote(part.name);
  if (!part.filename.empty()) {
    block += "; filename=" + quote(part.filename);
  }
  block += "\r\n";
  if (!part.content_type.empty()) {
    block += "Content-Type: " + part.content_type + "\r\n";
  }
  block += "\r\n";
  return block;
}

// Writes parts as a client would, with the same boundary.
std::string serialize(const std::vector<MultipartPart>& parts, std::string_view boundary) {
  const std::string dash_boundary = "--" + std::string(boundary);
  std::string body = dash_boundary + "\r\n";
  for (size_t i = 0; i < parts.size(); ++i) {
    body += header_block(parts[i]);
    body += parts[i].data;
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

// Collects what a MultipartReader reports, copying the content of each part.
class PartRecorder final : public net::MultipartVisitor {
 public:
  void on_part_begin(const MultipartPart& part) override {
    FUZZ_CHECK(!failed_);
    FUZZ_CHECK(!in_part_);
    FUZZ_CHECK(part.data.empty());
    in_part_ = true;
    parts_.push_back(part);
    contents_.emplace_back();
  }
  void on_part_data(std::string_view data) override {
    FUZZ_CHECK(!failed_);
    FUZZ_CHECK(in_part_);
    contents_.back().append(data);
  }
  void on_part_end() override {
    FUZZ_CHECK(!failed_);
    FUZZ_CHECK(in_part_);
    in_part_ = false;
  }

  // After a failure the reader must not call the visitor again.
  void mark_failed() { failed_ = true; }

  // The parts with `data` pointing at the recorded contents.
  std::vector<MultipartPart> parts() const {
    std::vector<MultipartPart> parts = parts_;
    for (size_t i = 0; i < parts.size(); ++i) {
      parts[i].data = contents_[i];
    }
    return parts;
  }

 private:
  std::vector<MultipartPart> parts_;
  std::vector<std::string> contents_;
  bool in_part_ = false;
  bool failed_ = false;
};

// Feeds the body to a MultipartReader in chunks and compares its verdict and parts with
// parse_multipart's on the whole body.
void compare_reader(const std::vector<std::string_view>& chunks, std::string_view boundary,
                    bool whole_ok, const std::vector<MultipartPart>& whole_parts) {
  net::MultipartReader reader(boundary);
  PartRecorder recorder;
  bool ok = true;
  for (std::string_view chunk : chunks) {
    if (!reader.feed(chunk, recorder)) {
      if (ok) {
        recorder.mark_failed();
      }
      ok = false;
    }
  }
  if (ok && !reader.finish(recorder)) {
    ok = false;
  }
  FUZZ_CHECK(ok == reader.complete());
  // parse_multipart also rejects zero parts, which the reader's grammar already excludes.
  FUZZ_CHECK(ok == whole_ok);
  if (ok) {
    FUZZ_CHECK(same_parts(recorder.parts(), whole_parts));
  }
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

  // Quoting may lengthen a header block that was just within the reader's limit.
  for (const MultipartPart& part : parts) {
    if (header_block(part).size() > net::MultipartReader::kMaxPartHeaderBytes) {
      return;
    }
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
  const ChunkedInput input = read_chunked_input(data, size);
  const size_t line_feed = input.payload.find('\n');
  const std::string_view header = input.payload.substr(0, line_feed);
  const size_t body_begin =
      line_feed == std::string_view::npos ? input.payload.size() : line_feed + 1;
  const std::string_view body = input.payload.substr(body_begin);

  const std::optional<std::string> parsed_boundary = parley::net::multipart_boundary(header);
  if (parsed_boundary) {
    const std::string written = "multipart/form-data; boundary=" + quote(*parsed_boundary);
    FUZZ_CHECK(parley::net::multipart_boundary(written) == parsed_boundary);
  }
  const std::string boundary = parsed_boundary.value_or(std::string(header));

  std::vector<parley::net::MultipartPart> parts;
  const bool ok = parley::net::parse_multipart(body, boundary, parts);
  if (ok) {
    check_parts(body, boundary, parts);
  } else {
    FUZZ_CHECK(parts.empty());
  }

  // The chunks cover the whole payload; cut them down to the body.
  std::vector<std::string_view> body_chunks;
  size_t chunk_begin = 0;
  for (std::string_view chunk : input.chunks) {
    const size_t chunk_end = chunk_begin + chunk.size();
    if (chunk_end > body_begin) {
      const size_t skip = chunk_begin < body_begin ? body_begin - chunk_begin : 0;
      body_chunks.push_back(chunk.substr(skip));
    }
    chunk_begin = chunk_end;
  }
  compare_reader(body_chunks, boundary, ok, parts);
  return 0;
}
