#include "ws/session.h"

#include <memory>

#include "net/log.h"
#include "net/tcp_server.h"
#include "ws/frame.h"

namespace parley::ws {

Session::Session(net::Connection& conn, SessionHandler& handler, SessionOptions options)
    : conn_(conn), handler_(handler), options_(options), reader_(options.limits) {
  conn_.set_high_water_mark(options_.high_water_mark);
}

size_t Session::on_data(char* data, size_t len) {
  size_t total = 0;
  while (!conn_.closed()) {
    Event event;
    size_t used = reader_.next(data + total, len - total, event);
    total += used;
    switch (event.type) {
      case Event::Type::kNeedMore:
        return total;
      case Event::Type::kText:
        // After sending Close, §5.5.1 lets the endpoint discard further data.
        if (!close_sent_) {
          handler_.on_text(*this, event.payload);
        }
        break;
      case Event::Type::kBinary:
        if (!close_sent_) {
          handler_.on_binary(*this, event.payload);
        }
        break;
      case Event::Type::kPing:
        if (!close_sent_) {
          (void)send_encoded(
              std::make_shared<const std::string>(encode_frame(Opcode::kPong, event.payload)));
        }
        break;
      case Event::Type::kPong:
        break;  // any received byte already counts as liveness
      case Event::Type::kClose:
        on_peer_close(event.close_code);
        return total;
      case Event::Type::kError:
        fail(event.close_code, event.reason);
        return total;
    }
  }
  return total;
}

void Session::on_peer_close(uint16_t code) {
  if (!close_sent_) {
    // Echo the peer's code (§5.5.1); 1005 means it sent none, and 1005 must not be sent.
    close_sent_ = true;
    std::string frame = code == 1005 ? encode_frame(Opcode::kClose, {}) : encode_close_frame(code);
    (void)conn_.send(std::move(frame));
  }
  // The server closes the TCP connection first once both Close frames are exchanged (§7.1.1).
  conn_.close_after_flush();
}

void Session::fail(uint16_t code, std::string_view reason) {
  net::log(net::LogLevel::kDebug, "conn ", conn_.id(), " websocket failed with ", code, ": ",
           reason);
  if (!close_sent_) {
    close_sent_ = true;
    (void)conn_.send(encode_close_frame(code));
  }
  conn_.close_after_flush();
}

net::SendStatus Session::send_encoded(net::SharedBytes frame) {
  return check_sent(conn_.send(std::move(frame)));
}

net::SendStatus Session::check_sent(net::SendStatus status) {
  if (status == net::SendStatus::kOverHighWater) {
    net::log(net::LogLevel::kWarn, "conn ", conn_.id(), " ", conn_.peer_address(),
             " closed: output queue above ", options_.high_water_mark, " bytes (peer not reading)");
    conn_.close("output above high-water mark");
  }
  return status;
}

void Session::enable_permessage_deflate(const DeflateParams& params) {
  reader_.enable_permessage_deflate(params);
  deflater_ = std::make_unique<Deflater>(params);
}

net::SendStatus Session::send_message(Opcode opcode, std::string_view payload) {
  if (close_sent_) {
    return net::SendStatus::kClosed;
  }
  if (!deflater_ || payload.size() < kMinCompressBytes) {
    uint8_t header[kMaxServerFrameHeader];
    const size_t header_len = encode_frame_header(header, opcode, payload.size());
    return check_sent(
        conn_.send_copy({reinterpret_cast<const char*>(header), header_len}, payload));
  }
  // RFC 7692 §6: RSV1 on the (only) frame marks the compressed message.
  const std::string compressed = deflater_->compress(payload);
  uint8_t header[kMaxServerFrameHeader];
  const size_t header_len = encode_frame_header(header, opcode, compressed.size());
  header[0] |= kRsv1Bit;
  auto frame = std::make_shared<std::string>();
  frame->reserve(header_len + compressed.size());
  frame->append(reinterpret_cast<const char*>(header), header_len);
  frame->append(compressed);
  return send_encoded(std::move(frame));
}

net::SendStatus Session::send_text(std::string_view text) {
  return send_message(Opcode::kText, text);
}

net::SendStatus Session::send_binary(std::string_view data) {
  return send_message(Opcode::kBinary, data);
}

net::SendStatus Session::send_frame(const net::SharedBytes& frame) {
  if (close_sent_) {
    return net::SendStatus::kClosed;
  }
  return send_encoded(frame);
}

void Session::ping(std::string_view payload) {
  if (!close_sent_) {
    (void)send_encoded(
        std::make_shared<const std::string>(encode_frame(Opcode::kPing, payload.substr(0, 125))));
  }
}

void Session::check_idle(int64_t silent_ms, int64_t idle_ms) {
  if (silent_ms < idle_ms) {
    idle_ping_sent_ = false;
    return;
  }
  if (silent_ms < 2 * idle_ms) {
    if (!idle_ping_sent_) {
      idle_ping_sent_ = true;
      ping();
    }
    return;
  }
  if (!close_sent_) {
    net::log(net::LogLevel::kInfo, "conn ", conn_.id(), " ", conn_.peer_address(),
             " closing: no reply to a ping after ", silent_ms, " ms of silence");
    close(to_uint(CloseCode::kGoingAway), "idle timeout");
  }
}

void Session::close(uint16_t code, std::string_view reason) {
  if (close_sent_ || conn_.closing()) {
    return;
  }
  close_sent_ = true;
  (void)conn_.send(encode_close_frame(code, reason.substr(0, 123)));
  // Keep reading until the peer's Close arrives (on_peer_close then drops TCP); closing at once
  // could reset the connection while the peer's data is in flight and lose our Close frame.
  conn_.close_later(options_.close_timeout_ms, "no Close frame from peer");
}

}  // namespace parley::ws
