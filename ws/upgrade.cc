#include "ws/upgrade.h"

#include <algorithm>

#include "net/log.h"
#include "ws/handshake.h"

namespace parley::ws {
namespace {

// The sweep never runs more often than this, however short the timeouts.
constexpr int64_t kMinSweepIntervalMs = 50;

}  // namespace

std::vector<std::string_view> offered_subprotocols(const net::HttpRequest& request) {
  std::vector<std::string_view> offered;
  for (const auto& [name, value] : request.headers) {
    if (name != "sec-websocket-protocol") {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view element = net::detail::trim_ows(rest.substr(0, comma));
      if (!element.empty()) {
        offered.push_back(element);
      }
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  return offered;
}

std::string select_subprotocol(const net::HttpRequest& request,
                               const std::vector<std::string>& supported) {
  for (std::string_view offered : offered_subprotocols(request)) {
    if (std::find(supported.begin(), supported.end(), offered) != supported.end()) {
      return std::string(offered);
    }
  }
  return {};
}

std::string subprotocol_header(std::string_view protocol) {
  if (protocol.empty()) {
    return {};
  }
  std::string line = "Sec-WebSocket-Protocol: ";
  line.append(protocol);
  line.append("\r\n");
  return line;
}

UpgradeHandler::UpgradeHandler(net::Connection& conn, const EndpointOptions& options,
                               const SessionHandlerFactory& factory)
    : conn_(conn), options_(options), factory_(factory), accepted_ms_(conn.loop().now_ms()) {}

size_t UpgradeHandler::on_data(net::Connection&, char* data, size_t len) {
  if (session_) {
    return session_->on_data(data, len);
  }
  return read_handshake(data, len);
}

void UpgradeHandler::on_closed(net::Connection&) {}

size_t UpgradeHandler::read_handshake(char* data, size_t len) {
  net::HttpRequest request;
  const net::ParseResult parsed =
      net::parse_http_request(std::string_view(data, len), options_.http, request);
  if (parsed.status == net::ParseStatus::kNeedMore) {
    return 0;
  }
  if (parsed.status == net::ParseStatus::kError) {
    reject(parsed.error_status, "malformed or oversized HTTP request");
    return len;
  }
  const HandshakeCheck check = check_upgrade_request(request);
  if (check.status != 101) {
    reject(check.status, check.error);
    return len;
  }

  const std::string subprotocol = select_subprotocol(request, options_.subprotocols);
  const std::optional<DeflateParams> deflate =
      negotiate_permessage_deflate(request, options_.deflate);
  std::string extra_headers = subprotocol_header(subprotocol);
  if (deflate) {
    extra_headers += deflate_response_header(*deflate);
  }
  (void)conn_.send(build_accept_response(check.accept_key, extra_headers));
  application_ = factory_(request, subprotocol);
  session_.emplace(conn_, *application_, options_.session);
  if (deflate) {
    session_->enable_permessage_deflate(*deflate);
  }
  if (net::log_enabled(net::LogLevel::kDebug)) {  // peer_address() costs a system call
    net::log(net::LogLevel::kDebug, "conn ", conn_.id(), " ", conn_.peer_address(),
             " websocket open on ", request.path, subprotocol.empty() ? "" : " with subprotocol ",
             subprotocol, deflate ? " with permessage-deflate" : "");
  }

  // Frames pipelined right behind the request head belong to the session.
  const size_t head = parsed.consumed;
  return head + session_->on_data(data + head, len - head);
}

void UpgradeHandler::reject(int status, std::string_view message) {
  if (net::log_enabled(net::LogLevel::kDebug)) {
    net::log(net::LogLevel::kDebug, "conn ", conn_.id(), " ", conn_.peer_address(),
             " handshake rejected with ", status, ": ", message);
  }
  std::string body(message);
  body.push_back('\n');
  (void)conn_.send(build_reject_response(status, body));
  conn_.close_after_flush();
}

void UpgradeHandler::check_timeouts(int64_t now_ms) {
  if (conn_.closing()) {
    return;
  }
  if (!session_) {
    if (now_ms - accepted_ms_ >= options_.handshake_timeout_ms) {
      net::log(net::LogLevel::kDebug, "conn ", conn_.id(), " ", conn_.peer_address(),
               " closed: handshake not complete after ", options_.handshake_timeout_ms, " ms");
      conn_.close("handshake timed out");
    }
    return;
  }
  if (options_.idle_timeout_ms > 0) {
    session_->check_idle(now_ms - conn_.last_read_ms(), options_.idle_timeout_ms);
  }
}

net::TimerId start_timeout_sweep(net::EventLoop& loop, net::TcpServer& tcp,
                                 const EndpointOptions& options) {
  int64_t shortest = options.handshake_timeout_ms;
  if (options.idle_timeout_ms > 0) {
    shortest = std::min(shortest, options.idle_timeout_ms);
  }
  const int64_t interval = std::max(kMinSweepIntervalMs, shortest / 4);
  net::EventLoop* raw_loop = &loop;
  net::TcpServer* raw_tcp = &tcp;
  // One timer per loop visits every connection, so an idle connection owns no timer object.
  return loop.run_every(interval, [raw_loop, raw_tcp] {
    const int64_t now = raw_loop->now_ms();
    raw_tcp->for_each([now](net::Connection& conn) {
      if (auto* handler = static_cast<UpgradeHandler*>(conn.handler())) {
        handler->check_timeouts(now);
      }
    });
  });
}

}  // namespace parley::ws
