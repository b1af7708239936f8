#include "tools/bench/message_compression.h"

#include <strings.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace parley::bench {
namespace {

// The bytes a sync flush ends with, which the sender drops and the receiver adds back.
constexpr char kSyncFlushTail[] = {0x00, 0x00, static_cast<char>(0xff), static_cast<char>(0xff)};

// zlib's defaults for the compressor: a 32 KiB window (15 bits) and memLevel 8.
constexpr int kWindowBits = 15;
constexpr int kMemLevel = 8;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Splits `text` at every `separator` and trims each piece.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  for (;;) {
    size_t at = text.find(separator);
    pieces.push_back(trim(text.substr(0, at)));
    if (at == std::string_view::npos)
      return pieces;
    text.remove_prefix(at + 1);
  }
}

// Checks one parameter of the accepted extension and records which one it was.
std::string check_parameter(std::string_view parameter, bool& server_no_takeover,
                            bool& client_no_takeover, bool& server_window) {
  size_t equals = parameter.find('=');
  std::string_view name = trim(parameter.substr(0, equals));
  std::string_view value =
      equals == std::string_view::npos ? std::string_view() : trim(parameter.substr(equals + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  bool has_value = equals != std::string_view::npos;
  auto once = [&](bool& seen) -> std::string {
    if (seen)
      return "repeats " + std::string(name);
    seen = true;
    return {};
  };
  if (equals_ignoring_case(name, "server_no_context_takeover") && !has_value) {
    return once(server_no_takeover);
  }
  if (equals_ignoring_case(name, "client_no_context_takeover") && !has_value) {
    return once(client_no_takeover);
  }
  if (equals_ignoring_case(name, "server_max_window_bits")) {
    // Any window of 8 to 15 bits fits the decompressor's 15-bit window.
    bool valid = value.size() >= 1 && value.size() <= 2 && value.front() != '0';
    int bits = 0;
    for (char c : value) {
      valid = valid && c >= '0' && c <= '9';
      bits = bits * 10 + (c - '0');
    }
    if (!valid || bits < 8 || bits > 15) {
      return "has server_max_window_bits='" + std::string(value) + "', expected 8 to 15";
    }
    return once(server_window);
  }
  // client_max_window_bits is only allowed in a response when the offer contained it
  // (RFC 7692 §7.1.2.2), and kDeflateOffer does not.
  return "has the parameter '" + std::string(parameter) + "', which the offer does not allow";
}

}  // namespace

std::string check_deflate_response(std::string_view extensions) {
  if (trim(extensions).empty()) {
    return "the server did not accept permessage-deflate: its 101 response has no "
           "Sec-WebSocket-Extensions header (is the server started with --deflate?)";
  }
  const std::string prefix =
      "the server's Sec-WebSocket-Extensions '" + std::string(extensions) + "' ";
  if (extensions.find(',') != std::string_view::npos) {
    return prefix + "names more than the one extension offered";
  }
  std::vector<std::string_view> parts = split(extensions, ';');
  if (!equals_ignoring_case(parts[0], "permessage-deflate")) {
    return prefix + "is not permessage-deflate";
  }
  bool server_no_takeover = false;
  bool client_no_takeover = false;
  bool server_window = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string problem =
        check_parameter(parts[i], server_no_takeover, client_no_takeover, server_window);
    if (!problem.empty())
      return prefix + problem;
  }
  // A server that accepts an offer with server_no_context_takeover must echo it
  // (RFC 7692 §7.1.1.1). Without it the server could reference earlier messages, and the
  // decompressor, which starts every message afresh, would fail.
  if (!server_no_takeover)
    return prefix + "lacks server_no_context_takeover";
  return {};
}

MessageCompressor::~MessageCompressor() {
  if (initialized_)
    deflateEnd(&stream_);
}

void MessageCompressor::compress(std::string_view message, std::string& out) {
  if (!initialized_) {
    // A negative windowBits makes zlib write raw deflate data, without the zlib header.
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -kWindowBits, kMemLevel,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2 failed");
    }
    initialized_ = true;
  }
  // deflateBound() covers a finished stream. The sync flush adds an empty stored block of at
  // most 5 bytes plus a byte of pending bits.
  out.resize(deflateBound(&stream_, static_cast<uLong>(message.size())) + 8);
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  stream_.avail_in = static_cast<uInt>(message.size());
  stream_.next_out = reinterpret_cast<Bytef*>(out.data());
  stream_.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream_, Z_SYNC_FLUSH);
  if (rc != Z_OK || stream_.avail_in != 0 || stream_.avail_out == 0) {
    deflateReset(&stream_);
    throw std::runtime_error("deflate did not compress a message into its bound");
  }
  size_t produced = out.size() - stream_.avail_out;
  if (produced >= sizeof kSyncFlushTail &&
      std::string_view(out.data() + produced - sizeof kSyncFlushTail, sizeof kSyncFlushTail) ==
          std::string_view(kSyncFlushTail, sizeof kSyncFlushTail)) {
    produced -= sizeof kSyncFlushTail;
  }
  out.resize(produced);
  // client_no_context_takeover: the next message starts with an empty window.
  deflateReset(&stream_);
}

MessageDecompressor::~MessageDecompressor() {
  if (initialized_)
    inflateEnd(&stream_);
}

bool MessageDecompressor::decompress(std::string_view payload, std::string& out, size_t limit) {
  if (!initialized_) {
    if (inflateInit2(&stream_, -kWindowBits) != Z_OK) {
      throw std::runtime_error("inflateInit2 failed");
    }
    initialized_ = true;
  }
  out.clear();
  bool ok = true;
  bool ended = false;  // the sender closed the deflate stream with a final block
  // The payload, then the tail that the sender dropped.
  for (std::string_view input :
       {payload, std::string_view(kSyncFlushTail, sizeof kSyncFlushTail)}) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    stream_.avail_in = static_cast<uInt>(input.size());
    while (ok && !ended) {
      size_t used = out.size();
      size_t room = std::min(std::max<size_t>(4 * input.size(), 4096), limit + 1 - used);
      out.resize(used + room);
      stream_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      stream_.avail_out = static_cast<uInt>(room);
      int rc = inflate(&stream_, Z_SYNC_FLUSH);
      out.resize(used + room - stream_.avail_out);
      bool drained = stream_.avail_in == 0 && stream_.avail_out != 0;
      if (out.size() > limit || (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)) {
        ok = false;
      } else if (rc == Z_STREAM_END) {
        ended = true;  // whatever follows the final block, such as the tail, is ignored
      } else if (drained) {
        break;
      } else if (rc == Z_BUF_ERROR && stream_.avail_out != 0) {
        ok = false;  // no progress with input and room left
      }
    }
    if (!ok || ended)
      break;
  }
  // server_no_context_takeover: the next message starts with an empty window.
  inflateReset(&stream_);
  return ok;
}

}  // namespace parley::bench
