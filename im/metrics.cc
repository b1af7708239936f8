#include "im/metrics.h"

namespace parley::im {

namespace {
void gauge(std::string& out, const char* name, const char* type, const char* help,
           const std::atomic<int64_t>& value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += std::to_string(value.load(std::memory_order_relaxed));
  out += '\n';
}
}  // namespace

std::string Metrics::render() const {
  std::string out;
  gauge(out, "parley_connections_open", "gauge", "Open TCP connections.", connections_open);
  gauge(out, "parley_connections_total", "counter", "Accepted TCP connections.",
        connections_total);
  gauge(out, "parley_websocket_sessions", "gauge", "Open chat WebSocket sessions.",
        websocket_sessions);
  gauge(out, "parley_http_requests_total", "counter", "HTTP requests parsed.", http_requests);
  gauge(out, "parley_messages_stored_total", "counter", "Chat messages committed to the store.",
        messages_stored);
  gauge(out, "parley_messages_delivered_total", "counter",
        "Message frames queued to recipient sessions.", messages_delivered);
  gauge(out, "parley_store_errors_total", "counter", "Store operations that failed.",
        store_errors);
  gauge(out, "parley_messages_rate_limited_total", "counter",
        "Chat messages rejected by the per-user message rate limit.", messages_rate_limited);
  gauge(out, "parley_logins_rate_limited_total", "counter",
        "Logins rejected by the per-address limit on failed logins.", logins_rate_limited);
  return out;
}

}  // namespace parley::im
