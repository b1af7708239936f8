#pragma once

// permessage-deflate (RFC 7692) for the load generator, written apart from ws/ so that the
// server's compression is checked against a second implementation.
//
// parley-bench offers client_no_context_takeover and server_no_context_takeover, so every
// message is compressed on its own in both directions. Two consequences: one compressor and
// one decompressor per worker thread serve all of its connections, and an echo benchmark
// measures the compression of one message, not a back-reference to the previous, nearly equal
// message that context takeover would allow.
//
// Each object belongs to one worker thread.

#include <zlib.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::bench {

// The Sec-WebSocket-Extensions value that parley-bench sends with --deflate.
inline constexpr std::string_view kDeflateOffer =
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

// Checks the Sec-WebSocket-Extensions value of the server's 101 response (empty when the
// header is missing) against kDeflateOffer. Returns an empty string when the server accepted
// the offer, or an error message that names the problem.
std::string check_deflate_response(std::string_view extensions);

// Compresses outgoing messages, each with a fresh LZ77 window.
class MessageCompressor {
 public:
  MessageCompressor() = default;
  ~MessageCompressor();
  MessageCompressor(const MessageCompressor&) = delete;
  MessageCompressor& operator=(const MessageCompressor&) = delete;

  // Replaces `out` with the compressed form of `message`, without the 00 00 FF FF that ends
  // a sync flush (RFC 7692 §7.2.1). Throws std::runtime_error when zlib fails.
  void compress(std::string_view message, std::string& out);

 private:
  z_stream stream_{};
  bool initialized_ = false;  // deflateInit2 runs on the first message
};

// Decompresses incoming messages that the server compressed without context takeover.
class MessageDecompressor {
 public:
  MessageDecompressor() = default;
  ~MessageDecompressor();
  MessageDecompressor(const MessageDecompressor&) = delete;
  MessageDecompressor& operator=(const MessageDecompressor&) = delete;

  // Replaces `out` with the inflated form of one whole message payload (its frames'
  // payloads joined). Returns false when the data is not valid deflate data or inflates to
  // more than `limit` bytes.
  bool decompress(std::string_view payload, std::string& out, size_t limit);

 private:
  z_stream stream_{};
  bool initialized_ = false;  // inflateInit2 runs on the first message
};

}  // namespace parley::bench
