#pragma once
// The server's incremental reader of client frames: it parses frames (RFC 6455 §5.2),
// reassembles fragmented messages (§5.4), validates text as UTF-8 (§8.1) and fails the
// connection with the close code the RFC names for each violation.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.h"
#include "ws/permessage_deflate.h"
#include "ws/utf8.h"

namespace parley::ws {

struct ReaderLimits {
  // Maximum size of one data message, in payload bytes, summed over its fragments. A frame
  // whose length field would exceed it fails with 1009 before any payload is buffered. For a
  // compressed message the limit applies to the inflated size, checked while inflating, and
  // the compressed bytes may exceed it by the deflate overhead of incompressible data.
  size_t max_message_bytes = size_t{1} << 20;
};

// One result of MessageReader::next().
struct Event {
  enum class Type : uint8_t {
    kNeedMore,  // no complete event in the bytes given; feed more bytes
    kText,      // a complete text message, valid UTF-8
    kBinary,    // a complete binary message
    kPing,      // the server should answer with a Pong carrying the same payload (§5.5.2)
    kPong,
    kClose,  // the client started or answered the closing handshake (§5.5.1)
    kError,  // a protocol violation: send a Close with close_code, then close the socket
  };

  Type type = Type::kNeedMore;
  std::string_view payload;  // message or control frame body
  uint16_t close_code = 0;   // kClose: the code received, or 1005 when the body was empty;
                             // kError: the code to close with (1002, 1007 or 1009)
  std::string_view reason;   // kClose: the reason received; kError: what was wrong, in English
};

// Reads the frames of one connection. Owned by that connection and used only on its event-loop
// thread.
//
// Usage: append received bytes to an input buffer and call next() until it returns 0 with a
// kNeedMore event. Drop the consumed bytes from the front of the buffer and keep the rest for
// the next call, unchanged: the reader unmasks in place and remembers how far it got, so
// unconsumed bytes may already be unmasked. After kError the connection is finished and every
// call returns the same kError. After kClose every call returns kNeedMore and consumes
// nothing, since no data may follow a Close frame (§5.5.1).
//
// Length forms: a data frame whose length is written in a longer form than needed is accepted,
// since the minimal-form rule of §5.2 binds senders. A control frame must use the 7-bit form and
// fails with 1002 otherwise.
//
// Memory: an unfragmented message or control frame is returned in place, with no copy and no
// allocation, so the input buffer must be able to hold a whole frame, up to
// max_message_bytes + kMaxFrameHeader bytes. Fragments are unmasked and moved into the
// reader's own buffer as they arrive, so the input buffer needs to hold only one frame header.
// Compressed messages are inflated into the reader's buffer as their bytes arrive, fragmented
// or not, and bad deflate data fails with 1007.
class MessageReader {
 public:
  explicit MessageReader(ReaderLimits limits = {}) : limits_(limits) {}

  // Accepts RSV1 on the first frame of a data message as the mark of a compressed message
  // (RFC 7692 §6), inflated as its fragments arrive. Without this call RSV1 fails with 1002.
  void enable_permessage_deflate(const DeflateParams& params);

  // Consumes bytes from the front of [data, data + len), fills `event` and returns the number
  // of bytes consumed. `payload` and `reason` point into `data` or into the reader's buffer
  // and stay valid until the next call. A kError event consumes nothing.
  [[nodiscard]] size_t next(char* data, size_t len, Event& event);

 private:
  enum class Stage : uint8_t { kHeader, kPayload, kClosed, kFailed };

  struct FrameHeader {
    uint64_t payload_len = 0;
    uint32_t mask_key = 0;  // in wire order, see apply_mask()
    bool fin = false;
    Opcode opcode = Opcode::kContinuation;
  };

  // Parses and checks the frame header at `data`. Returns its length, or 0 when more bytes
  // are needed or the header is invalid (then stage_ is kFailed).
  size_t read_header(const uint8_t* data, size_t len, Event& event);
  // Unmasks the payload of a control frame or an unfragmented message where it lies. Returns
  // the payload length once all of it is present (and fills `event`), otherwise 0.
  size_t read_payload_in_place(char* payload, size_t len, Event& event);
  // Unmasks the available part of a fragment's payload and appends it to message_. Returns
  // the bytes consumed, and fills `event` when the fragment completes the message.
  size_t read_fragment_payload(char* payload, size_t len, Event& event);
  // The same for a compressed message: inflates the bytes instead of copying them.
  size_t read_compressed_payload(char* payload, size_t len, Event& event);
  // Checks inflated_ from `from` on as UTF-8 text, and turns an inflate failure into kError.
  // Returns false after failing the connection.
  bool check_inflated(InflateStatus status, size_t from, Event& event);
  // Checks that a completed text message ends on a character boundary, then fills `event`
  // with message_ and returns `consumed`; returns 0 after failing the connection.
  size_t complete_message(size_t consumed, Event& event);
  void read_control_frame(std::string_view payload, Event& event);
  void release_message();
  // Switches to kFailed with the code and reason, fills `event` and returns 0.
  size_t fail(CloseCode code, std::string_view reason, Event& event);

  // Ordered by size so the reader packs without padding, because every idle session has one.
  ReaderLimits limits_;
  FrameHeader frame_;
  uint64_t payload_done_ = 0;      // payload bytes of the current frame unmasked so far
  uint64_t compressed_bytes_ = 0;  // payload bytes on the wire so far of a compressed message
  // The message being assembled: the fragments received so far, or for a compressed message
  // its inflated bytes so far. One buffer serves both, since a message is one or the other.
  std::vector<char> message_;
  std::unique_ptr<Inflater> inflater_;  // null unless permessage-deflate was negotiated
  std::string_view error_reason_;       // always a string literal
  Utf8Validator utf8_;                  // state of the text message being read
  CloseCode error_code_ = CloseCode::kProtocolError;
  Stage stage_ = Stage::kHeader;
  Opcode message_opcode_ = Opcode::kText;  // kText or kBinary: the message being read
  bool payload_in_place_ = false;          // control frame or unfragmented message: not copied
  bool in_message_ = false;                // a fragmented message is open (§5.4)
  bool release_message_ = false;           // message_ was handed out; clear it on the next call
  bool compressed_ = false;                // the message being read has RSV1 set
};

}  // namespace parley::ws
