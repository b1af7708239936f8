#include "ws/message_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace parley::ws {
namespace {

// The fragment buffer keeps its capacity between messages up to this size, so that one large
// message does not pin its memory for the life of an idle connection.
constexpr size_t kRetainedBufferCapacity = 64 * 1024;

}  // namespace

size_t MessageReader::next(char* data, size_t len, Event& event) {
  event = Event{};
  if (stage_ == Stage::kFailed) {
    return fail(error_code_, error_reason_, event);
  }
  if (stage_ == Stage::kClosed) {
    return 0;
  }
  if (release_message_) {
    release_message();
  }

  size_t consumed = 0;
  // Each pass reads one frame. Only a non-final fragment, which produces no event, lets the
  // loop go on to the next frame.
  for (;;) {
    if (stage_ == Stage::kHeader) {
      const auto* header = reinterpret_cast<const uint8_t*>(data + consumed);
      const size_t header_len = read_header(header, len - consumed, event);
      if (header_len == 0) {
        return stage_ == Stage::kFailed ? 0 : consumed;
      }
      consumed += header_len;
    }

    char* payload = data + consumed;
    const size_t available = len - consumed;
    consumed += payload_in_place_ ? read_payload_in_place(payload, available, event)
                                  : read_fragment_payload(payload, available, event);
    if (stage_ == Stage::kFailed) {
      return 0;
    }
    if (stage_ == Stage::kPayload || event.type != Event::Type::kNeedMore) {
      return consumed;
    }
  }
}

size_t MessageReader::read_header(const uint8_t* data, size_t len, Event& event) {
  if (len < 2) {
    return 0;
  }
  const bool fin = (data[0] & kFinBit) != 0;
  const uint8_t opcode_bits = data[0] & kOpcodeBits;
  const bool masked = (data[1] & kMaskBit) != 0;
  const uint8_t length7 = data[1] & 0x7F;

  // The first two bytes already show most violations, so they fail before the rest arrives.
  // §5.2: RSV1-3 must be 0 unless an extension defines them. Only permessage-deflate is
  // supported, and it defines RSV1 alone.
  const bool rsv1 = (data[0] & kRsv1Bit) != 0;
  if ((data[0] & (kRsv2Bit | kRsv3Bit)) != 0 || (rsv1 && !inflater_)) {
    return fail(CloseCode::kProtocolError, "RSV bits set without a negotiated extension", event);
  }
  // §5.2: an endpoint that receives a reserved opcode (3-7, 11-15) must fail the connection.
  if (!is_defined_opcode(opcode_bits)) {
    return fail(CloseCode::kProtocolError, "reserved opcode", event);
  }
  // RFC 7692 §6.1: RSV1 marks the first frame of a compressed data message and nothing else.
  if (rsv1 && (opcode_bits == 0 || is_control(static_cast<Opcode>(opcode_bits)))) {
    return fail(CloseCode::kProtocolError, "RSV1 set on a control or continuation frame", event);
  }
  // §5.1: a server must close the connection when a client frame is not masked.
  if (!masked) {
    return fail(CloseCode::kProtocolError, "client frame is not masked", event);
  }
  const auto opcode = static_cast<Opcode>(opcode_bits);
  if (is_control(opcode)) {
    // §5.5: control frames must not be fragmented and carry at most 125 bytes. The length is
    // judged from byte 1 alone, so a control frame in the 16- or 64-bit length form fails even
    // when the value that follows is 125 or less.
    if (!fin) {
      return fail(CloseCode::kProtocolError, "fragmented control frame", event);
    }
    if (length7 > kMaxControlPayload) {
      return fail(CloseCode::kProtocolError, "control frame payload over 125 bytes", event);
    }
  } else if (opcode == Opcode::kContinuation) {
    // §5.4: continuation frames only follow a first fragment with FIN clear.
    if (!in_message_) {
      return fail(CloseCode::kProtocolError, "continuation frame without a message", event);
    }
  } else if (in_message_) {
    // §5.4: fragments of one message are not interleaved with another data message.
    return fail(CloseCode::kProtocolError, "data frame inside a fragmented message", event);
  }

  // §5.2: 126 means a 16-bit length follows, 127 a 64-bit length, then the 4-byte mask key.
  const size_t length_bytes = length7 == 126 ? 2 : (length7 == 127 ? 8 : 0);
  const size_t header_len = 2 + length_bytes + 4;
  if (len < header_len) {
    return 0;
  }
  uint64_t payload_len = length7;
  if (length_bytes != 0) {
    payload_len = 0;
    for (size_t i = 0; i < length_bytes; ++i) {
      payload_len = (payload_len << 8) | data[2 + i];
    }
  }
  // §5.2: the most significant bit of a 64-bit length must be 0. A length written in a longer
  // form than needed is accepted: the minimal form is a rule for senders only.
  if (length7 == 127 && (payload_len >> 63) != 0) {
    return fail(CloseCode::kProtocolError, "64-bit payload length has its top bit set", event);
  }
  // §10.4 and §7.4.1 (1009): refuse an oversized message from its header, before buffering.
  // A compressed message is judged by its inflated size while it is inflated. Its compressed
  // bytes may be a little larger than the limit, by zlib's bound for incompressible data
  // (about 0.03% + 13 bytes in deflateBound of zlib 1.2.13), so they get 0.1% + 64 bytes.
  if (!is_control(opcode)) {
    const bool compressed = opcode == Opcode::kContinuation ? compressed_ : rsv1;
    const size_t max = limits_.max_message_bytes;
    const size_t limit = compressed ? max + std::min(max / 1024 + 64, SIZE_MAX - max) : max;
    size_t buffered = 0;
    if (opcode == Opcode::kContinuation) {
      buffered = compressed ? static_cast<size_t>(compressed_bytes_) : message_.size();
    }
    if (payload_len > limit - buffered) {
      return fail(CloseCode::kMessageTooBig, "message exceeds the size limit", event);
    }
  }

  frame_.fin = fin;
  frame_.opcode = opcode;
  frame_.payload_len = payload_len;
  std::memcpy(&frame_.mask_key, data + 2 + length_bytes, 4);
  payload_done_ = 0;
  if (opcode == Opcode::kText || opcode == Opcode::kBinary) {
    message_opcode_ = opcode;
    in_message_ = !fin;
    compressed_ = rsv1;
    compressed_bytes_ = 0;
    utf8_.reset();
  }
  payload_in_place_ = is_control(opcode) || (fin && opcode != Opcode::kContinuation && !rsv1);
  stage_ = Stage::kPayload;
  return header_len;
}

size_t MessageReader::read_payload_in_place(char* payload, size_t len, Event& event) {
  const uint64_t payload_len = frame_.payload_len;
  const size_t ready = static_cast<size_t>(std::min<uint64_t>(len, payload_len));

  // Unmask (and check text) as bytes arrive, so that invalid UTF-8 fails the connection before
  // the rest of the frame comes in. The bytes stay in the caller's buffer until the end.
  if (ready > payload_done_) {
    char* fresh = payload + payload_done_;
    const size_t fresh_len = ready - static_cast<size_t>(payload_done_);
    apply_mask(fresh, fresh_len, frame_.mask_key, static_cast<size_t>(payload_done_));
    if (frame_.opcode == Opcode::kText && !utf8_.feed(std::string_view(fresh, fresh_len))) {
      return fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8", event);
    }
    payload_done_ = ready;
  }
  if (payload_done_ < payload_len) {
    return 0;
  }

  stage_ = Stage::kHeader;
  const std::string_view body(payload, static_cast<size_t>(payload_len));
  switch (frame_.opcode) {
    case Opcode::kText:
      // §8.1: the text must also not end inside a multi-byte sequence.
      if (!utf8_.at_boundary()) {
        return fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8", event);
      }
      event.type = Event::Type::kText;
      event.payload = body;
      break;
    case Opcode::kBinary:
      event.type = Event::Type::kBinary;
      event.payload = body;
      break;
    default:
      read_control_frame(body, event);
      break;
  }
  return body.size();
}

size_t MessageReader::read_fragment_payload(char* payload, size_t len, Event& event) {
  if (compressed_) {
    return read_compressed_payload(payload, len, event);
  }
  const uint64_t remaining = frame_.payload_len - payload_done_;
  const size_t take = static_cast<size_t>(std::min<uint64_t>(len, remaining));

  apply_mask(payload, take, frame_.mask_key, static_cast<size_t>(payload_done_));
  const std::string_view bytes(payload, take);
  // §8.1 with fail-fast: the fragment boundaries may split a character, so the validator
  // carries its state from one fragment to the next.
  if (message_opcode_ == Opcode::kText && !utf8_.feed(bytes)) {
    return fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8", event);
  }
  message_.insert(message_.end(), bytes.begin(), bytes.end());
  payload_done_ += take;
  if (payload_done_ < frame_.payload_len) {
    return take;
  }

  stage_ = Stage::kHeader;
  if (!frame_.fin) {
    return take;
  }
  // §5.4: the fragment with FIN set completes the message.
  in_message_ = false;
  return complete_message(take, event);
}

size_t MessageReader::complete_message(size_t consumed, Event& event) {
  // §8.1: the text must not end inside a multi-byte sequence.
  if (message_opcode_ == Opcode::kText && !utf8_.at_boundary()) {
    return fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8", event);
  }
  event.type = message_opcode_ == Opcode::kText ? Event::Type::kText : Event::Type::kBinary;
  event.payload = std::string_view(message_.data(), message_.size());
  release_message_ = true;
  return consumed;
}

void MessageReader::enable_permessage_deflate(const DeflateParams& params) {
  inflater_ = std::make_unique<Inflater>(params);
}

size_t MessageReader::read_compressed_payload(char* payload, size_t len, Event& event) {
  const uint64_t remaining = frame_.payload_len - payload_done_;
  const size_t take = static_cast<size_t>(std::min<uint64_t>(len, remaining));

  apply_mask(payload, take, frame_.mask_key, static_cast<size_t>(payload_done_));
  size_t checked = message_.size();
  InflateStatus status =
      inflater_->feed(std::string_view(payload, take), message_, limits_.max_message_bytes);
  if (!check_inflated(status, checked, event)) {
    return 0;
  }
  payload_done_ += take;
  compressed_bytes_ += take;
  if (payload_done_ < frame_.payload_len) {
    return take;
  }

  stage_ = Stage::kHeader;
  if (!frame_.fin) {
    return take;
  }
  in_message_ = false;
  checked = message_.size();
  status = inflater_->finish(message_, limits_.max_message_bytes);
  if (!check_inflated(status, checked, event)) {
    return 0;
  }
  return complete_message(take, event);
}

bool MessageReader::check_inflated(InflateStatus status, size_t from, Event& event) {
  if (status == InflateStatus::kTooBig) {
    fail(CloseCode::kMessageTooBig, "inflated message exceeds the size limit", event);
    return false;
  }
  if (status == InflateStatus::kInvalid) {
    fail(CloseCode::kInvalidPayload, "compressed message is not valid deflate data", event);
    return false;
  }
  // §8.1 with fail-fast, on the inflated text as it comes out.
  const std::string_view fresh(message_.data() + from, message_.size() - from);
  if (message_opcode_ == Opcode::kText && !utf8_.feed(fresh)) {
    fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8", event);
    return false;
  }
  return true;
}

void MessageReader::read_control_frame(std::string_view payload, Event& event) {
  if (frame_.opcode == Opcode::kPing) {
    event.type = Event::Type::kPing;
    event.payload = payload;
    return;
  }
  if (frame_.opcode == Opcode::kPong) {
    event.type = Event::Type::kPong;
    event.payload = payload;
    return;
  }

  // §5.5.1: a Close body is empty, or a 2-byte status code followed by a UTF-8 reason.
  event.payload = payload;
  if (payload.empty()) {
    event.type = Event::Type::kClose;
    event.close_code = to_uint(CloseCode::kNoStatus);
    stage_ = Stage::kClosed;
    return;
  }
  if (payload.size() == 1) {
    fail(CloseCode::kProtocolError, "close frame body of 1 byte", event);
    return;
  }
  const uint16_t code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                              static_cast<uint8_t>(payload[1]));
  // §7.4: codes that are unused, reserved or must not be sent are a protocol error.
  if (!is_valid_received_close_code(code)) {
    fail(CloseCode::kProtocolError, "close frame with an invalid status code", event);
    return;
  }
  const std::string_view reason = payload.substr(2);
  if (!is_valid_utf8(reason)) {
    fail(CloseCode::kInvalidPayload, "close reason is not valid UTF-8", event);
    return;
  }
  event.type = Event::Type::kClose;
  event.close_code = code;
  event.reason = reason;
  stage_ = Stage::kClosed;
}

void MessageReader::release_message() {
  release_message_ = false;
  if (message_.capacity() > kRetainedBufferCapacity) {
    std::vector<char>().swap(message_);
  } else {
    message_.clear();
  }
}

size_t MessageReader::fail(CloseCode code, std::string_view reason, Event& event) {
  stage_ = Stage::kFailed;
  error_code_ = code;
  error_reason_ = reason;
  event = Event{};
  event.type = Event::Type::kError;
  event.close_code = to_uint(code);
  event.reason = reason;
  return 0;
}

}  // namespace parley::ws
