#pragma once
// Close status codes of RFC 6455 section 7.4 and the IANA "WebSocket Close Code Number"
// registry. Plain values and pure functions: any thread may call them.

#include <cstdint>
#include <string_view>

namespace parley::ws {

// The status code carried in the first two bytes of a Close frame body (RFC 6455 §5.5.1).
enum class CloseCode : uint16_t {
  kNormal = 1000,              // the purpose of the connection was fulfilled
  kGoingAway = 1001,           // server shutting down, browser leaving the page
  kProtocolError = 1002,       // the peer broke the framing rules
  kUnsupportedData = 1003,     // a message type this endpoint does not accept
  kNoStatus = 1005,            // reported when a Close frame had no body; never sent
  kAbnormal = 1006,            // reported when the connection dropped without a Close; never sent
  kInvalidPayload = 1007,      // data inconsistent with its type, e.g. text that is not UTF-8
  kPolicyViolation = 1008,     // generic refusal when no other code fits
  kMessageTooBig = 1009,       // the message exceeds this endpoint's size limit
  kMandatoryExtension = 1010,  // sent by a client whose required extension was not negotiated
  kInternalError = 1011,       // the server hit an unexpected condition
  kServiceRestart = 1012,      // IANA registry: the server is restarting
  kTryAgainLater = 1013,       // IANA registry: temporary overload
  kBadGateway = 1014,          // IANA registry: a gateway got an invalid upstream response
  kTlsHandshake = 1015,        // reported when the TLS handshake failed; never sent
};

constexpr uint16_t to_uint(CloseCode code) {
  return static_cast<uint16_t>(code);
}

// Returns whether a peer may put this code in a Close frame. RFC 6455 §7.4.1 forbids sending
// 1005, 1006 and 1015, §7.4.2 leaves 0-999 unused and reserves 1016-2999 for future
// standards, and 3000-4999 belong to libraries and applications. So the valid codes are
// 1000-1003, 1007-1014 and 3000-4999; a Close frame with any other code is a protocol error.
bool is_valid_received_close_code(uint16_t code);

// Returns whether an endpoint may send this code, which is the same set as
// is_valid_received_close_code(): 1005, 1006 and 1015 exist only to report local conditions.
inline bool is_sendable_close_code(uint16_t code) {
  return is_valid_received_close_code(code);
}

// Returns a short English name for a code ("normal closure", "protocol error", ...), or
// "unknown" for codes outside the table. Meant for logs.
std::string_view close_code_name(uint16_t code);

}  // namespace parley::ws
