#pragma once
// The permessage-deflate extension (RFC 7692): its negotiation in the opening handshake, and
// the per-connection zlib streams that compress and decompress message payloads.
//
// Negotiation functions are pure and any thread may call them. An Inflater or a Deflater
// belongs to one session and is used only on that connection's loop thread. Each frees its
// zlib state in its destructor, so the state goes away with the session on close.
//
// Memory per connection, from the formulas in zlib's zconf.h (zlib 1.2.13): a deflate stream
// takes (1 << (window_bits + 2)) + (1 << (mem_level + 9)) bytes, which is 256 KiB at zlib's
// defaults (15, 8), so the server compresses with kServerWindowBits and kDeflateMemLevel
// instead: 32 KiB + 16 KiB. An inflate stream takes (1 << window_bits) + about 7 KiB. Both
// are allocated on first use, so a session that never sends or receives a compressed message
// allocates neither. Besides, every thread that inflates keeps one 16 KiB output buffer, which
// all of its Inflaters share, until the thread exits.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_message.h"
#include "ws/extension_offer.h"

struct z_stream_s;

namespace parley::ws {

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";

// The LZ77 window of the server's compressor, in bits. A smaller window than the client
// allows needs no mention in the response (RFC 7692 §7.1.2.1), since any inflater with a
// larger window reads the output. 13 bits (an 8 KiB window) trade some compression of large
// messages for a quarter of zlib's default memory.
inline constexpr int kServerWindowBits = 13;
// zlib's memLevel for the server's compressor: 5 gives a 4096-entry hash table.
inline constexpr int kDeflateMemLevel = 5;
// Data messages shorter than this many bytes are sent uncompressed (RSV1 clear), because
// deflate framing and a sync flush add about 6 bytes and short JSON frames rarely shrink
// by more. Every message from 64 bytes up is compressed.
inline constexpr size_t kMinCompressBytes = 64;

// The parameters agreed in the handshake (RFC 7692 §7.1). Window sizes are in bits, 9-15.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  // largest window of the server's compressor
  int client_max_window_bits = 15;  // largest window of the client's compressor
  // Whether the response names each window size. Without them the client reads the defaults.
  bool send_server_max_window_bits = false;
  bool send_client_max_window_bits = false;
};

// The server's side of the negotiation.
struct DeflateOptions {
  bool enabled = false;
  // Requested of a client that offers client_max_window_bits, to bound the inflate window.
  // A client that does not offer the parameter may use 15 bits regardless.
  int client_max_window_bits = 15;
};

// Returns the parameters of the first permessage-deflate offer that the server can accept, or
// nullopt when none can be. An offer is declined when it is malformed, has an unknown or a
// repeated parameter, a value on a *_no_context_takeover parameter, or a window size that is
// missing (server_max_window_bits), not a decimal 8-15 without leading zeros, or is
// server_max_window_bits=8: zlib does not produce raw deflate with a 256-byte window, and
// compressing with 512 bytes could emit distances that the client's window does not hold.
// client_max_window_bits=8 is accepted, because the inflater reads it with a 9-bit window.
std::optional<DeflateParams> negotiate_permessage_deflate(const std::vector<ExtensionOffer>& offers,
                                                          const DeflateOptions& options);
std::optional<DeflateParams> negotiate_permessage_deflate(const net::HttpRequest& request,
                                                          const DeflateOptions& options);

// Returns the "Sec-WebSocket-Extensions: permessage-deflate...\r\n" line of the response.
std::string deflate_response_header(const DeflateParams& params);

// The result of feeding compressed bytes to an Inflater.
enum class InflateStatus : uint8_t {
  kOk,
  kTooBig,   // the output would exceed the limit
  kInvalid,  // the input is not valid deflate data
};

// Decompresses the client's messages. One message at a time: feed() each payload piece as it
// arrives, then finish() after the last frame.
class Inflater {
 public:
  explicit Inflater(const DeflateParams& params);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates `input` and appends the output to `out`, which never grows beyond `limit` bytes.
  // Output that would go past it returns kTooBig at once. So a small message that inflates to
  // gigabytes costs at most `limit` bytes of memory and the work to produce them.
  InflateStatus feed(std::string_view input, std::vector<char>& out, size_t limit);
  // Appends the 00 00 FF FF that the sender removed (RFC 7692 §7.2.2) and inflates it, which
  // ends the message. Resets the window when the client does not take over context.
  //
  // A sender may instead end a message with a final block, one with BFINAL set (RFC 7692
  // §7.2.3.4). feed() then drops the rest of the message, such as the 0x00 octet that the RFC's
  // example puts after that block, and finish() appends nothing. With context takeover the
  // next message is still decompressed with this message's window.
  InflateStatus finish(std::vector<char>& out, size_t limit);

 private:
  InflateStatus run(std::string_view input, std::vector<char>& out, size_t limit);
  // Starts a new deflate stream after a final block, keeping the window unless the client
  // does not take over context. Copying the window allocates up to 32 KiB for the call.
  void restart_after_final_block();

  int window_bits_;
  bool reset_after_message_;
  bool final_block_seen_ = false;       // the current message's deflate stream has ended
  std::unique_ptr<z_stream_s> stream_;  // null until the first compressed message
};

// Compresses the server's messages.
class Deflater {
 public:
  explicit Deflater(const DeflateParams& params);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Returns the compressed payload of one message, without the trailing 00 00 FF FF
  // (RFC 7692 §7.2.1). Throws std::bad_alloc when zlib cannot allocate its state.
  std::string compress(std::string_view payload);

 private:
  int window_bits_;
  bool reset_after_message_;
  std::unique_ptr<z_stream_s> stream_;  // null until the first compressed message
};

}  // namespace parley::ws
