#include "ws/close_code.h"

namespace parley::ws {

bool is_valid_received_close_code(uint16_t code) {
  if (code >= 1000 && code <= 1003) {
    return true;
  }
  // 1004 is reserved, and 1005 and 1006 must never appear on the wire (§7.4.1).
  if (code >= 1007 && code <= 1014) {
    return true;
  }
  // 1015 must never appear on the wire, and 1016-2999 are reserved (§7.4.2).
  return code >= 3000 && code <= 4999;
}

std::string_view close_code_name(uint16_t code) {
  switch (static_cast<CloseCode>(code)) {
    case CloseCode::kNormal:
      return "normal closure";
    case CloseCode::kGoingAway:
      return "going away";
    case CloseCode::kProtocolError:
      return "protocol error";
    case CloseCode::kUnsupportedData:
      return "unsupported data";
    case CloseCode::kNoStatus:
      return "no status received";
    case CloseCode::kAbnormal:
      return "abnormal closure";
    case CloseCode::kInvalidPayload:
      return "invalid frame payload data";
    case CloseCode::kPolicyViolation:
      return "policy violation";
    case CloseCode::kMessageTooBig:
      return "message too big";
    case CloseCode::kMandatoryExtension:
      return "mandatory extension";
    case CloseCode::kInternalError:
      return "internal error";
    case CloseCode::kServiceRestart:
      return "service restart";
    case CloseCode::kTryAgainLater:
      return "try again later";
    case CloseCode::kBadGateway:
      return "bad gateway";
    case CloseCode::kTlsHandshake:
      return "TLS handshake failure";
  }
  return "unknown";
}

}  // namespace parley::ws
